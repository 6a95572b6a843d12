// compose.observability.yml (the Prometheus/Grafana/Loki stack) checked by real
// tools: Docker Compose v2 (`config`, which needs no engine) and dclint.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { renderBundle } from "../../compose/bundle";
import { renderObservability } from "../../compose/render/observability";
import { OBSERVABILITY_SERVICES } from "../../compose/render/observability/budget";
import { observabilityInput } from "../fixtures/observability/input";

const DCLINT = path.resolve(__dirname, "..", "..", "node_modules", ".bin", "dclint");

function run(cmd: string, args: string[], cwd: string): { code: number; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

describe("tools: compose.observability.yml passes docker compose config and dclint", function () {
  this.timeout(120_000);
  let dir = "";
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-obs-compose-"));
    const { compose, files } = renderObservability(observabilityInput());
    fs.writeFileSync(path.join(dir, "compose.observability.yml"), stringify(compose, { lineWidth: 0 }));
    for (const [rel, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("docker compose config accepts it and sees every budgeted service in the profile", () => {
    const r = run(
      "docker",
      ["compose", "-p", "freshtrack", "-f", "compose.observability.yml", "--profile", "observability", "config", "--format", "json"],
      dir,
    );
    assert.equal(r.code, 0, r.out);
    const doc = JSON.parse(r.stdout) as { services: Record<string, { ports?: unknown; healthcheck?: unknown }>; volumes: Record<string, { name: string }> };
    assert.deepEqual(Object.keys(doc.services).sort(), [...OBSERVABILITY_SERVICES].sort());
    for (const [name, s] of Object.entries(doc.services)) {
      assert.equal(s.ports, undefined, name);
      assert.ok(s.healthcheck, name);
    }
    assert.equal(doc.volumes.freshtrack_prometheus.name, "freshtrack_prometheus");
  });

  it("without the profile, Compose starts none of them", () => {
    const r = run("docker", ["compose", "-p", "freshtrack", "-f", "compose.observability.yml", "config", "--services"], dir);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.stdout.trim(), "");
  });

  it("docker compose config refuses a broken document (the check can fail)", () => {
    fs.writeFileSync(
      path.join(dir, "broken.yml"),
      stringify({ services: { x: { image: "busybox:1.36", profiles: ["observability"], healthcheck: { interval: "soon" } } } }),
    );
    const r = run("docker", ["compose", "-f", "broken.yml", "--profile", "observability", "config", "-q"], dir);
    assert.notEqual(r.code, 0, r.out);
  });

  it("dclint reports no error and no warning", () => {
    const r = run(DCLINT, ["--max-warnings", "0", "--color", "false", "compose.observability.yml"], dir);
    assert.equal(r.code, 0, r.out);
  });

  it("dclint reports an unpinned image (the lint can fail)", () => {
    fs.writeFileSync(path.join(dir, "unpinned.yml"), stringify({ name: "freshtrack", services: { grafana: { image: "grafana/grafana:latest" } } }));
    const r = run(DCLINT, ["--max-warnings", "0", "--color", "false", "unpinned.yml"], dir);
    assert.notEqual(r.code, 0, r.out);
  });
});

for (const [variant, over, mustReach] of [
  ["tlsMode acme", {}, []],
  ["tlsMode internal (end-to-end probe through the caddy service)", { tlsMode: "internal" }, ["caddy"]],
] as [string, Record<string, string>, string[]][])
  describe(`tools: the whole vm bundle with the observability profile, merged by docker compose (${variant})`, function () {
    this.timeout(120_000);
    let dir = "";
    type Merged = { services: Record<string, { networks?: Record<string, unknown> }> };
    let merged: Merged;
    let files: Record<string, string> = {};
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-obs-bundle-"));
      files = renderBundle(observabilityInput(over));
      for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), content);
      }
      const release = JSON.parse(files["release.json"]) as { compose_files: string[]; profiles: string[] };
      assert.ok(release.compose_files.includes("compose.observability.yml") && release.profiles.includes("observability"));
      const args = [
        "compose",
        "-p",
        "freshtrack",
        ...release.compose_files.flatMap((f) => ["-f", f]),
        ...release.profiles.flatMap((p) => ["--profile", p]),
        "config",
        "--format",
        "json",
      ];
      const r = run("docker", args, dir);
      assert.equal(r.code, 0, r.out);
      merged = JSON.parse(r.stdout) as Merged;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const shareNetwork = (a: string, b: string) => {
      const na = Object.keys(merged.services[a]?.networks ?? {});
      const nb = Object.keys(merged.services[b]?.networks ?? {});
      return na.some((n) => nb.includes(n));
    };

    it("every host Prometheus scrapes or blackbox probes is a service on a network it shares with the scraper", () => {
      const prom = parse(files["config/prometheus.yml"]) as {
        scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
      };
      const checked: string[] = [];
      for (const job of prom.scrape_configs) {
        const probing = job.metrics_path === "/probe";
        for (const t of job.static_configs.flatMap((c) => c.targets)) {
          const host = probing ? new URL(t).hostname : t.split(":")[0];
          if (host === "localhost") continue;
          if (probing && host.includes(".")) continue; // the public domain: reached through DNS, not the Compose network
          const from = probing ? "blackbox-exporter" : "prometheus";
          assert.ok(merged.services[host], `${job.job_name}: ${host} is not a service of the merged bundle`);
          assert.ok(shareNetwork(from, host), `${job.job_name}: ${from} and ${host} share no network`);
          checked.push(host);
        }
      }
      for (const h of ["backend", "frontend", "node-exporter", "alertmanager", "loki", "alloy", ...mustReach]) assert.ok(checked.includes(h), h);
    });

    it("Grafana reaches its datasources and Alloy reaches Loki over a shared network", () => {
      assert.ok(shareNetwork("grafana", "prometheus"));
      assert.ok(shareNetwork("grafana", "loki"));
      assert.ok(shareNetwork("alloy", "loki"));
      assert.ok(shareNetwork("prometheus", "alertmanager"));
    });
  });
