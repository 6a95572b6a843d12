// `npm run local-host`: a real disposable host (this machine's sshd on loopback, the
// same code the e2e deploys to) and the `local` stack file it writes: the pinned host
// key is the key the server really presents (ssh-keyscan), the deploy key reaches the
// Pulumi CLI on stdin only, and the file holds no secret in plain text. `pulumi` is a
// recorder on PATH (the CLI cannot be installed here); everything else is real.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../core/config";
import { portOpen } from "../../scripts/lib/local-host";
import { ROOT } from "../../scripts/lib/program";

const FAKE_PULUMI = `#!/usr/bin/env bash
[[ $1 == version ]] && { echo v3.200.0; exit 0; }
printf '%s\\n' "$*" >>"$FAKE_PULUMI_LOG"
if [[ "$*" == *"config set --secret"* ]]; then cat >"$FAKE_PULUMI_LOG.stdin"; fi
exit 0
`;

describe("tools: npm run local-host (the local stack's disposable host)", function () {
  this.timeout(180000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-localhost-"));
  const dir = path.join(root, "host");
  const stackFile = path.join(root, "project", "Pulumi.local.yaml");
  const bin = path.join(root, "bin");
  const log = path.join(root, "pulumi.log");
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_PULUMI_LOG: log };
  const run = (...extra: string[]) =>
    spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "local-host.ts"), "--dir", dir, "--stack-file", stackFile, ...extra],
      { cwd: ROOT, env, encoding: "utf8" },
    );
  const config = () => (parseYaml(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, string> }).config;
  let port = 0;

  before(() => {
    fs.mkdirSync(bin);
    fs.mkdirSync(path.dirname(stackFile));
    fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
  });
  after(() => {
    run("--down");
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("starts the host and writes the stack file with the host key the server really presents", async () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    const c = config();
    port = Number(c["freshtrack:vmPort"]);
    assert.ok(await portOpen(port), "sshd listens");
    assert.equal(c["freshtrack:target"], "vm");
    assert.equal(c["freshtrack:vmHost"], "127.0.0.1");
    assert.equal(c["freshtrack:tlsMode"], "internal");
    const scanned =
      spawnSync("ssh-keyscan", ["-t", "ed25519", "-p", String(port), "127.0.0.1"], { encoding: "utf8" })
        .stdout.split("\n")
        .find((l) => l && !l.startsWith("#"))
        ?.split(/\s+/)
        .slice(1, 3)
        .join(" ") ?? "";
    assert.match(scanned, /^ssh-ed25519 AAAA/);
    assert.equal(c["freshtrack:vmHostKey"], scanned, "pinned = presented");
  });

  it("holds no secret in plain text; the deploy key reached `pulumi config set --secret` on stdin only", () => {
    const key = fs.readFileSync(path.join(dir, "root_login_key"), "utf8");
    assert.equal(fs.statSync(path.join(dir, "root_login_key")).mode & 0o777, 0o600);
    const text = fs.readFileSync(stackFile, "utf8");
    assert.doesNotMatch(text, /PRIVATE KEY/);
    for (const line of key.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----")))
      assert.ok(!text.includes(line), "no line of the deploy key in the stack file");
    assert.equal(config()["freshtrack:vmSshPrivateKey"], undefined, "set by the CLI, encrypted, not by us");
    const calls = fs.readFileSync(log, "utf8").trim().split("\n");
    assert.deepEqual(calls, ["stack select local --create", "config set --secret vmSshPrivateKey --stack local"]);
    assert.equal(fs.readFileSync(`${log}.stdin`, "utf8"), key);
  });

  it("the program accepts the stack file as written (with the deploy key set as a secret)", () => {
    const raw = Object.fromEntries(Object.entries(config()).map(([k, v]) => [k.replace(/^freshtrack:/, ""), String(v)]));
    const cfg = parseConfig({ ...raw, vmSshPrivateKey: "set-by-pulumi" }, new Set(["vmSshPrivateKey"]));
    assert.equal(cfg.vm?.port, port);
    assert.equal(cfg.app.tlsMode, "internal");
  });

  it("the deploy key logs in as root, checking the pinned host key strictly", () => {
    const knownHosts = path.join(root, "known_hosts");
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${config()["freshtrack:vmHostKey"]}\n`);
    const r = spawnSync(
      "ssh",
      [
        "-i",
        path.join(dir, "root_login_key"),
        "-p",
        String(port),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "root@127.0.0.1",
        "id -u",
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "0");
  });

  it("a second run reuses the running host and keeps what the operator added to the file", () => {
    fs.appendFileSync(stackFile, '  freshtrack:observability: "false"\n');
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /already running/);
    assert.equal(Number(config()["freshtrack:vmPort"]), port);
    assert.equal(config()["freshtrack:observability"], "false");
  });

  it("--down stops the host and removes its keys", async () => {
    const r = run("--down");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /local host stopped/);
    assert.equal(await portOpen(port), false);
    assert.equal(fs.existsSync(dir), false);
  });
});
