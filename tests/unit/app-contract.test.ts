// The app's runtime contract (core/app-contract.ts) in one place: the release we render
// (Compose bundles of the vm and do example stacks, ECS container definitions of the aws
// one) and the e2e stand-in app (its Dockerfiles, its files, its behaviour on loopback)
// are both checked against it. A change of the app's contract is one edit there.
import { strict as assert } from "assert";
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { parse } from "yaml";
import { APP_CONTRACT, DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_MS, RATE_LIMIT_SIZING, defaultRateLimitMax } from "../../core/app-contract";
import { renderBundle, ReleaseManifest } from "../../compose/bundle";
import { WITH_SECRETS_PATH } from "../../compose/render/compose";
import { APP_SECRET_ENV, appServices } from "../../core/model";
import { containerDefinition } from "../../components/aws/container-definitions";
import { parseConfig } from "../../core/config";
import { stackConfig } from "../../scripts/lib/program";
import { APP_STAND_INS, contextDir } from "../e2e/stand-ins";
import { testManagedDb, testObjectStore } from "../fixtures/config";

const C = APP_CONTRACT;
const RL = C.rateLimit;
const JOBS = ["backend", "worker", "migrate"] as const;

/** parseConfig of an example stack file (Pulumi.<stack>.yaml over the Pulumi.yaml defaults). */
function exampleConfig(stack: string) {
  const { config, secretKeys } = stackConfig({ stack });
  const raw = Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => k.startsWith("freshtrack:"))
      .map(([k, v]) => [k.slice("freshtrack:".length), v]),
  );
  return parseConfig(raw, new Set(secretKeys.map((k) => k.slice("freshtrack:".length))));
}

type Svc = { command?: string[]; entrypoint?: string[]; user?: string; environment?: Record<string, string>; healthcheck?: { test?: string[] } };
/** The app services as Compose runs them: every compose file of release.json merged in order (last scalar wins, maps merge). */
function composeServices(stack: "vm" | "do"): Record<string, Svc> {
  const config = exampleConfig(stack);
  const target = stack === "vm" ? "vm" : "digitalocean";
  const bundle = renderBundle({
    config,
    target,
    objectStore: testObjectStore(config.app.domain),
    managedDb: testManagedDb(target),
  });
  const rel = JSON.parse(bundle["release.json"]) as ReleaseManifest;
  const out: Record<string, Svc> = {};
  for (const f of rel.compose_files) {
    const doc = parse(bundle[f]) as { services?: Record<string, Svc> };
    for (const [n, s] of Object.entries(doc.services ?? {})) {
      const cur = (out[n] ??= {});
      for (const [k, v] of Object.entries(s)) {
        const prev = (cur as Record<string, unknown>)[k];
        (cur as Record<string, unknown>)[k] =
          prev && typeof prev === "object" && !Array.isArray(prev) && typeof v === "object" && !Array.isArray(v) ? { ...prev, ...(v as object) } : v;
      }
    }
  }
  return out;
}

describe("app contract: the release we render", () => {
  for (const stack of ["vm", "do"] as const) {
    describe(`Compose bundle of the ${stack} example stack`, () => {
      const svcs = composeServices(stack);
      for (const name of JOBS) {
        it(`${name}: with-secrets entrypoint, then the image's own start command passed explicitly`, () => {
          assert.deepEqual(svcs[name].entrypoint, ["/bin/sh", WITH_SECRETS_PATH]);
          assert.deepEqual(svcs[name].command, [...C.commands[name]]);
          assert.equal(svcs[name].user, String(C.uid));
        });
        it(`${name}: ${RL.maxEnv}/${RL.windowEnv} set to the sized default, not left at the app's ${RL.appDefaultMax}`, () => {
          assert.equal(svcs[name].environment?.[RL.maxEnv], String(DEFAULT_RATE_LIMIT_MAX));
          assert.equal(svcs[name].environment?.[RL.windowEnv], String(DEFAULT_RATE_LIMIT_WINDOW_MS));
        });
      }
      it("backend health check is readiness on the contract's port; frontend on its port", () => {
        assert.match(svcs.backend.healthcheck?.test?.join(" ") ?? "", new RegExp(`127\\.0\\.0\\.1:${C.ports.backend}${C.health.ready.path}\\b`));
        assert.match(svcs.frontend.healthcheck?.test?.join(" ") ?? "", new RegExp(`127\\.0\\.0\\.1:${C.ports.frontend}${C.frontendHealthPath}\\b`));
      });
    });
  }

  describe("ECS container definitions of the aws example stack", () => {
    const config = exampleConfig("aws");
    const svc = appServices({ app: config.app, objectStoreEndpoint: "https://s3.us-east-1.amazonaws.com", assetsBucket: "a" });
    const arns = Object.fromEntries(APP_SECRET_ENV.map((n) => [n, `arn:aws:secretsmanager:us-east-1:1:secret:${n}`]));
    for (const name of JOBS) {
      it(`${name}: the same start command as Compose, the same rate limit`, () => {
        const d = containerDefinition({ service: svc[name], taskCpu: 512, taskMemory: 1024, secretArns: arns, logGroup: "g", region: "us-east-1" });
        assert.deepEqual(d.command, [...C.commands[name]]);
        assert.equal(d.entryPoint, undefined, "the image's entrypoint; secrets come from Secrets Manager");
        assert.equal(d.user, String(C.uid));
        const env = Object.fromEntries(d.environment.map((e) => [e.name, e.value]));
        assert.equal(env[RL.maxEnv], String(DEFAULT_RATE_LIMIT_MAX));
        assert.equal(env[RL.windowEnv], String(DEFAULT_RATE_LIMIT_WINDOW_MS));
      });
    }
    it("refuses an app container without a start command (the image's CMD is never relied on by omission)", () => {
      assert.throws(
        () =>
          containerDefinition({
            service: { ...svc.worker, command: undefined },
            taskCpu: 256,
            taskMemory: 512,
            secretArns: arns,
            logGroup: "g",
            region: "us-east-1",
          }),
        /worker: no command/,
      );
    });
  });

  it("the default limit is the sizing arithmetic: fleet x headroom + UI users, rounded up", () => {
    const s = RATE_LIMIT_SIZING;
    assert.equal(DEFAULT_RATE_LIMIT_MAX, defaultRateLimitMax());
    assert.ok(DEFAULT_RATE_LIMIT_MAX >= s.fleetUplinksPerMinute * s.burstHeadroom + s.uiUsers * s.uiRequestsPerUserPerMinute);
    assert.ok(DEFAULT_RATE_LIMIT_MAX > RL.appDefaultMax);
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "app-contract.md"), "utf8");
    assert.ok(
      doc.includes(`${s.fleetUplinksPerMinute} × ${s.burstHeadroom} + ${s.uiUsers} × ${s.uiRequestsPerUserPerMinute}`),
      "docs/app-contract.md shows the arithmetic",
    );
    assert.ok(doc.includes(`**${DEFAULT_RATE_LIMIT_MAX}**`), "docs/app-contract.md shows the default");
  });
});

// ---- the stand-in -----------------------------------------------------------

const backendSpec = APP_STAND_INS.find((s) => s.key === "backend")!;
const workerSpec = APP_STAND_INS.find((s) => s.key === "worker")!;
const dockerfile = (s: typeof backendSpec) => fs.readFileSync(path.join(contextDir(s), s.dockerfile ?? "Dockerfile"), "utf8");
const cmdOf = (df: string) => JSON.parse(/^CMD (\[.*\])$/m.exec(df)?.[1] ?? "null") as string[] | null;

describe("app contract: the e2e stand-in's images", () => {
  it("backend image: the contract's command, workdir, uid; backend, migrate and worker code at the real paths", () => {
    const df = dockerfile(backendSpec);
    assert.deepEqual(cmdOf(df), [...C.commands.backend]);
    assert.match(df, new RegExp(`^WORKDIR ${C.workdir}$`, "m"));
    assert.match(df, new RegExp(`^USER ${C.uid}$`, "m"));
    assert.match(df, /^COPY dist \/app\/dist$/m);
    for (const rel of [C.commands.backend[1], C.commands.migrate[1], C.workerPathInBackendImage])
      assert.ok(fs.existsSync(path.join(contextDir(backendSpec), rel)), `${rel} in the backend image`);
  });
  it("worker image: its own image, the contract's command, the entry file at dist/workers/index.js, uid", () => {
    assert.ok(workerSpec, "a worker stand-in image");
    const df = dockerfile(workerSpec);
    assert.deepEqual(cmdOf(df), [...C.commands.worker]);
    assert.match(df, new RegExp(`^COPY worker/index\\.js ${C.workdir}/${C.commands.worker[1].replace(/\./g, "\\.")}$`, "m"));
    assert.match(df, new RegExp(`^USER ${C.uid}$`, "m"));
  });
  it("the stand-in stores readings in the contract's table and nowhere else", () => {
    const src = ["dist/src/index.js", "dist/src/db/migrate.js", "dist/src/workers/index.js"]
      .map((f) => fs.readFileSync(path.join(contextDir(backendSpec), f), "utf8"))
      .join("\n");
    assert.ok(src.includes(`INSERT INTO ${C.readingsTable}`));
    assert.ok(src.includes(`CREATE TABLE IF NOT EXISTS ${C.readingsTable}`));
    assert.ok(!/\breadings \(/.test(src.replace(new RegExp(C.readingsTable, "g"), "")), "no other readings table");
  });
});

const SRC = path.join(contextDir(backendSpec), "dist");
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

function run(file: string, env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  let out = "";
  const child = spawn(process.execPath, [path.join(SRC, file)], {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: path.dirname(SRC),
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  return { child, out: () => out, exited };
}

function req(port: number, method: string, p: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: "127.0.0.1", port, method, path: p, headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) }, agent: false },
      (res) => {
        let b = "";
        res.on("data", (d: Buffer) => (b += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    r.on("error", reject);
    r.end(body);
  });
}

async function until<T>(f: () => Promise<T>, ms = 8000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() - t0 > ms) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("app contract: the e2e stand-in's behaviour (node on loopback, no database)", function () {
  this.timeout(30000);
  const NO_DB = "postgres://nobody@127.0.0.1:1/none";
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill("SIGKILL")));

  async function backend(env: Record<string, string>): Promise<number> {
    const port = await freePort();
    const b = run("src/index.js", { DATABASE_URL: NO_DB, STACK_AUTH_PROJECT_ID: "p", PORT: String(port), ...env });
    children.push(b.child);
    await until(() => req(port, "GET", C.health.live.path));
    return port;
  }

  it(`backend exits at start without ${C.requiredEnv.join(" or ")}`, async () => {
    for (const missing of C.requiredEnv) {
      const env: Record<string, string> = { DATABASE_URL: NO_DB, STACK_AUTH_PROJECT_ID: "p", PORT: String(await freePort()) };
      delete env[missing];
      const b = run("src/index.js", env);
      const code = await b.exited;
      assert.notEqual(code, 0, `exits without ${missing}`);
      assert.match(b.out(), new RegExp(missing));
    }
  });

  it("health bodies: live {alive:true} without dependencies; ready and /health 503 with no database and no REDIS_URL", async () => {
    const port = await backend({});
    const live = await req(port, "GET", C.health.live.path);
    assert.equal(live.status, 200);
    assert.deepEqual(JSON.parse(live.body), C.health.live.body);
    const ready = await req(port, "GET", C.health.ready.path);
    assert.equal(ready.status, 503);
    assert.equal(JSON.parse(ready.body).ready, false);
    assert.equal((await req(port, "GET", C.health.full.path)).status, C.health.full.downStatus);
  });

  it(`webhook: a body that is not a TTN v3 uplink is ${C.webhook.status.badBody}, before any key or database`, async () => {
    const port = await backend({});
    for (const body of [
      "{}",
      "not json",
      JSON.stringify({ end_device_ids: { device_id: "d" }, uplink_message: { f_cnt: 1, decoded_payload: { temperature: 3 } } }),
    ]) {
      const r = await req(port, C.webhook.method, C.webhook.path, {}, body);
      assert.equal(r.status, C.webhook.status.badBody, body);
    }
  });

  it("rate limit: N per window per peer+User-Agent, 429 beyond; X-Forwarded-For ignored; /health* exempt", async () => {
    const port = await backend({ [RL.maxEnv]: "5", [RL.windowEnv]: "60000" });
    const post = (ua: string, extra: Record<string, string> = {}) => req(port, "POST", C.webhook.path, { "user-agent": ua, ...extra }, "{}");
    const a: number[] = [];
    for (let i = 0; i < 7; i++) a.push((await post("ttn/a")).status);
    assert.deepEqual(a, [400, 400, 400, 400, 400, RL.status, RL.status]);
    assert.equal((await post("ttn/b")).status, 400, "another User-Agent is another bucket");
    assert.equal((await post("ttn/a", { "x-forwarded-for": "198.51.100.9", "x-real-ip": "198.51.100.9" })).status, RL.status, "proxy headers are not trusted");
    for (let i = 0; i < 20; i++)
      for (const p of [C.health.live.path, C.health.ready.path, C.health.full.path])
        assert.notEqual((await req(port, "GET", p, { "user-agent": "ttn/a" })).status, RL.status, p);
  });

  it(`rate limit with no variables: the app's own ${RL.appDefaultMax} per ${RL.appDefaultWindowMs} ms`, async () => {
    const port = await backend({});
    const statuses: number[] = [];
    for (let i = 0; i < RL.appDefaultMax + 2; i++) statuses.push((await req(port, "POST", C.webhook.path, { "user-agent": "ttn" }, "{}")).status);
    assert.equal(statuses.filter((s) => s === RL.status).length, 2);
    assert.equal(statuses.indexOf(RL.status), RL.appDefaultMax);
  });

  it("worker: starts with no variable at all and keeps retrying (does not exit); SIGTERM stops it", async () => {
    const w = run("src/workers/index.js", {});
    children.push(w.child);
    // Its start is waited for (a loaded machine may take seconds to boot node), then it must keep running.
    await until(async () => assert.match(w.out(), /worker started/));
    const early = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r("running"), 2500))]);
    assert.equal(early, "running", `worker exited: ${w.out()}`);
    w.child.kill("SIGTERM");
    assert.equal(await Promise.race([w.exited, new Promise((r) => setTimeout(() => r("stuck"), 8000))]), 0);
  });
});
