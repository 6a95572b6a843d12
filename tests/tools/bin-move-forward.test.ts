// bin/move-forward (from a RENDERED vm release) against the rendered caddy.json
// RUNNING in the real Caddy 2.6 binary. --acme-to changes the running config through
// its admin API (seam FT_CADDY_ADMIN: the host's curl instead of `docker exec <caddy>
// wget`); --to and --off switch the rendered move route with its marker file and run
// the release's request holder (move/hold.js) under the host's Node, started by a docker
// stand-in where the host would start a container. Adapted for the test only, as in
// caddy-routing.test.ts: listen ports, upstream addresses, the marker directory, storage,
// and the admin listener. The "new side" is an HTTPS server with a certificate for the
// app's domain from a test CA (passed with --ca, or sent by the new side through
// `move-export --trust-ca`, as for tlsMode internal).
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { run, stubDocker } from "../fixtures/bin/harness";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";
import { MOVE_FORWARD_MARKER, MOVE_HOLD_CONTAINER, MOVE_HOLD_PORT, PROXY_STATE_DIR } from "../../compose/render/caddy";
import { freePort } from "../fixtures/free-port";
import { installRelease, renderedVmRelease } from "../fixtures/move-release";
import { COLD_CHAIN_RAW } from "../fixtures/config";

const DOMAIN = COLD_CHAIN_RAW.domain;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers with its name, the path, the Host it saw and the body it received. */
function answer(name: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ name, url: req.url, host: req.headers.host, by: req.headers["x-forwarded-by"] ?? null, body }));
    });
  };
}

describe("tools: bin/move-forward switches a running Caddy 2.6 to the new side and back", function () {
  this.timeout(120000);
  let dir: string;
  let caddy: ChildProcess | undefined;
  let httpsPort: number;
  let httpPort: number;
  let adminPort: number;
  let newPort: number;
  let newAcmePort: number;
  let appDir: string;
  const servers: (http.Server | https.Server)[] = [];

  const request = (port: number, p: string, method: string, tls: boolean, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const mod = tls ? https : http;
      const req = mod.request(
        { host: "127.0.0.1", port, path: p, method, servername: DOMAIN, headers: { host: DOMAIN }, rejectUnauthorized: false, timeout: 20000 },
        (res) => {
          let b = "";
          res.on("data", (c) => (b += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  let holdPort: number;
  let stubEnv: NodeJS.ProcessEnv = {};
  const forward = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(path.join(appDir, "current", "bin", "move-forward"), args, {
      env: { ...process.env, ...stubEnv, FT_CADDY_ADMIN: `http://127.0.0.1:${adminPort}`, ...extra },
    });
  /** Path and Host of every request the new side received. */
  const newSideSaw: { url?: string; host?: string }[] = [];
  const marker = () => path.join(appDir, "state", "proxy", MOVE_FORWARD_MARKER);
  const holderPid = () => path.join(dir, "hold.pid");

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-move-fwd-"));
    [httpsPort, httpPort, adminPort, newPort, newAcmePort, holdPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const oldPort = await freePort();
    // The old side's app (every upstream of the rendered config points here).
    const old = http.createServer(answer("old"));
    await new Promise<void>((r) => old.listen(oldPort, "127.0.0.1", () => r()));
    servers.push(old);
    // The new side: HTTPS for the domain, certificate from a test CA; and its port-80 ACME responder.
    issueServerCert(makeTestCa(dir, "ft-test-ca"), dir, [DOMAIN, `s3.${DOMAIN}`], "new");
    const fresh = https.createServer({ key: fs.readFileSync(path.join(dir, "new.key")), cert: fs.readFileSync(path.join(dir, "new.pem")) }, (req, res) => {
      newSideSaw.push({ url: req.url, host: req.headers.host });
      answer("new")(req, res);
    });
    await new Promise<void>((r) => fresh.listen(newPort, "127.0.0.1", () => r()));
    const acme = http.createServer(answer("new-acme"));
    await new Promise<void>((r) => acme.listen(newAcmePort, "127.0.0.1", () => r()));
    // The same new side at an IPv6 address (::1, same ports), answering under names of its own.
    const fresh6 = https.createServer({ key: fs.readFileSync(path.join(dir, "new.key")), cert: fs.readFileSync(path.join(dir, "new.pem")) }, answer("new-v6"));
    await new Promise<void>((r) => fresh6.listen(newPort, "::1", () => r()));
    const acme6 = http.createServer(answer("new-acme-v6"));
    await new Promise<void>((r) => acme6.listen(newAcmePort, "::1", () => r()));
    servers.push(fresh, acme, fresh6, acme6);

    // tlsMode internal: the new side's CA is the test's own (--ca, or sent with --trust-ca).
    const files = renderedVmRelease({ tlsMode: "internal" });
    ({ appDir } = installRelease(dir, files));
    // Where the host runs containers, a stand-in: the caddy container exists; `docker run` of the
    // holder starts the release's move/hold.js under this Node on holdPort, with the holder's
    // directory as the container would mount it; `docker exec caddy wget URL` fetches URL's path
    // from the holder; `docker stop` ends it.
    const stub = stubDocker(path.join(dir, "stub"));
    stubEnv = {
      PATH: `${stub}:${path.dirname(process.execPath)}:${process.env.PATH}`,
      FT_STUB_LOG: path.join(dir, "docker.log"),
      FT_STUB_SCRIPT: [
        'pid="$FT_STUB_DIR/hold.pid"',
        'case "$*" in',
        '  *"ps -q"*service=caddy*) echo caddy-1 ;;',
        '  "ps -q --filter name="*|*"ps -aq"*service=move-hold*|*"ps -q"*service=move-hold*) [ -s "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null && echo hold-1 ;;',
        '  "inspect -f {{range"*) echo "freshtrack_default " ;;',
        '  "run -d "*) FT_HOLD_PORT=$FT_STUB_HOLD_PORT FT_HOLD_DIR=$FT_STUB_APP/state/move-hold FT_HOLD_HEALTH=/.freshtrack-move/hold-health \\',
        '      nohup node "$FT_STUB_APP/current/move/hold.js" >>"$FT_STUB_DIR/hold.log" 2>&1 & echo $! >"$pid"; echo hold-1 ;;',
        '  "exec caddy-1 wget "*) url=$(printf "%s" "$*" | sed "s/.* //"); curl -fsS -o /dev/null "http://127.0.0.1:$FT_STUB_HOLD_PORT/${url#http://*/}" || exit 1 ;;',
        '  "stop "*hold-1) [ -s "$pid" ] && kill "$(cat "$pid")"; rm -f "$pid" ;;',
        "esac",
      ].join("\n"),
      FT_STUB_DIR: dir,
      FT_STUB_APP: appDir,
      FT_STUB_HOLD_PORT: String(holdPort),
    };
    const cfg = JSON.parse(files["config/caddy.json"]);
    const text = JSON.stringify(cfg)
      .replace(`"dial":"${MOVE_HOLD_CONTAINER}:${MOVE_HOLD_PORT}"`, `"dial":"127.0.0.1:${holdPort}"`)
      .replace(/"dial":"[a-z][a-z0-9-]*:\d+"/g, `"dial":"127.0.0.1:${oldPort}"`)
      .split(`"root":"${PROXY_STATE_DIR}"`)
      .join(`"root":${JSON.stringify(path.join(appDir, "state", "proxy"))}`);
    const adapted = JSON.parse(text);
    adapted.admin = { listen: `127.0.0.1:${adminPort}` };
    adapted.storage = { module: "file_system", root: path.join(dir, "data") };
    adapted.apps.http.http_port = httpPort;
    adapted.apps.http.https_port = httpsPort;
    adapted.apps.http.servers.public.listen = [`127.0.0.1:${httpsPort}`];
    adapted.apps.http.servers.health.listen = [`127.0.0.1:${await freePort()}`];
    fs.writeFileSync(path.join(dir, "caddy.json"), JSON.stringify(adapted));
    const log = fs.openSync(path.join(dir, "caddy.log"), "a");
    caddy = spawn("caddy", ["run", "--config", path.join(dir, "caddy.json")], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    fs.closeSync(log);
    for (let i = 0; i < 150; i++) {
      if (caddy.exitCode !== null) throw new Error(fs.readFileSync(path.join(dir, "caddy.log"), "utf8"));
      try {
        if ((await request(httpsPort, "/api/x", "GET", true)).status === 200) return;
      } catch {
        /* not up yet */
      }
      await sleep(200);
    }
    throw new Error(`caddy did not serve: ${fs.readFileSync(path.join(dir, "caddy.log"), "utf8").slice(-2000)}`);
  });

  after(async () => {
    if (fs.existsSync(holderPid())) process.kill(Number(fs.readFileSync(holderPid(), "utf8")), "SIGKILL");
    if (caddy && caddy.exitCode === null && caddy.pid) {
      const exited = new Promise((r) => caddy!.once("exit", r));
      process.kill(-caddy.pid, "SIGTERM");
      await Promise.race([exited, sleep(10000)]);
      if (caddy.exitCode === null) process.kill(-caddy.pid, "SIGKILL");
    }
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let original = "";
  const running = async () => (await run("curl", ["-fsS", `http://127.0.0.1:${adminPort}/config/`])).stdout;

  it("before: the old side serves", async () => {
    original = await running();
    assert.equal(JSON.parse((await request(httpsPort, "/api/readings", "POST", true, '{"t":1}')).body).name, "old");
  });

  it("--acme-to: challenges on the HTTP port reach the new side; the app itself still served here", async () => {
    const r = await forward(["--acme-to", `127.0.0.1:${newAcmePort}`]);
    assert.equal(r.code, 0, r.stderr + fs.readFileSync(path.join(dir, "caddy.log"), "utf8").slice(-1500));
    // The previous config's HTTP-port server may take a connection for a moment after the load.
    let c = await request(httpPort, "/.well-known/acme-challenge/tok123", "GET", false);
    for (let i = 0; i < 50 && c.status !== 200; i++) {
      await sleep(200);
      c = await request(httpPort, "/.well-known/acme-challenge/tok123", "GET", false);
    }
    assert.equal(c.status, 200, c.body);
    assert.equal(JSON.parse(c.body).name, "new-acme");
    assert.equal(JSON.parse(c.body).url, "/.well-known/acme-challenge/tok123");
    const other = await request(httpPort, "/dashboard?x=1", "GET", false);
    assert.equal(other.status, 308, "plain HTTP is still redirected to HTTPS");
    assert.equal(other.body, "");
    assert.equal(JSON.parse((await request(httpsPort, "/api/readings", "POST", true, '{"t":2}')).body).name, "old");
  });

  it("--to: no config load; the marker sends every request (POST bodies intact, Host kept) through the holder to the new side over verified TLS", async () => {
    const before = await running();
    const r = await forward(["--to", `127.0.0.1:${newPort}`, "--ca", path.join(dir, "ca.pem")]);
    assert.equal(r.code, 0, r.stderr);
    // The new side's health as a client reaches it after the DNS change: the domain at ADDR, TLS verified.
    const health = JSON.parse(r.stdout.trim()).new_side_health;
    assert.deepEqual(
      { url: health.url, via: health.via, status: health.status, ok: health.ok },
      { url: `https://${DOMAIN}/health`, via: `127.0.0.1:${newPort}`, status: 200, ok: true },
    );
    assert.ok(
      newSideSaw.some((x) => x.url === "/health" && x.host === `${DOMAIN}:${newPort}`),
      `the check reached the new side for the app's host: ${JSON.stringify(newSideSaw)}`,
    );
    assert.ok(fs.existsSync(marker()), "the move route's marker is in place");
    assert.equal(await running(), before, "the running config is unchanged (a load would reset idle client connections)");
    for (const [p, method, body] of [
      ["/api/readings", "POST", '{"t":3}'],
      ["/", "GET", undefined],
      ["/trpc/x?batch=1", "GET", undefined],
    ] as const) {
      const res = await request(httpsPort, p, method, true, body);
      assert.equal(res.status, 200, res.body);
      const b = JSON.parse(res.body);
      assert.equal(b.name, "new", p);
      assert.equal(b.url, p);
      assert.equal(b.host, DOMAIN);
      assert.equal(b.by, "freshtrack-move");
      if (body) assert.equal(b.body, body);
    }
    const shown = JSON.parse((await forward(["--show"])).stdout);
    assert.equal(shown.forward, true);
    assert.equal(shown.holder_target.url, `https://127.0.0.1:${newPort}`);
  });

  it("--to without the new side's CA fails closed (502), never to an unverified peer; the step fails on the unverified health check", async () => {
    const r = await forward(["--to", `127.0.0.1:${newPort}`], { FT_MOVE_HEALTH_SECONDS: "3" });
    assert.notEqual(r.code, 0, "an unverified new side fails the step");
    assert.equal(JSON.parse(r.stdout.trim()).new_side_health.status, 0);
    assert.match(r.stderr, /answers HTTP 000 .* every request is forwarded there meanwhile/);
    assert.match(fs.readFileSync(path.join(appDir, "state", "audit.log"), "utf8"), /"action":"move-forward".*"result":"failure".*"new_side_health"/);
    await sleep(300); // the holder reads its target every 100 ms
    assert.equal((await request(httpsPort, "/api/readings", "POST", true, '{"t":4}')).status, 502);
  });

  it("--to verifies with the CA the new side sent (move-export --trust-ca, tlsMode internal) when no --ca is given", async () => {
    const exportBin = path.join(appDir, "current", "bin", "move-export");
    // Over the move key's forced command, as bin/move-import sends it; anything but a certificate is refused.
    const bad = await run(exportBin, ["--ssh"], { env: { ...process.env, SSH_ORIGINAL_COMMAND: "trust-ca" }, input: "not a certificate\n" });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not a PEM certificate/);
    const sent = await run(exportBin, ["--ssh"], {
      env: { ...process.env, SSH_ORIGINAL_COMMAND: "trust-ca" },
      input: fs.readFileSync(path.join(dir, "ca.pem"), "utf8"),
    });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(fs.readFileSync(path.join(appDir, "state", "move-new-side-ca.pem"), "utf8"), fs.readFileSync(path.join(dir, "ca.pem"), "utf8"));
    const r = await forward(["--to", `127.0.0.1:${newPort}`]);
    assert.equal(r.code, 0, r.stderr);
    await sleep(300);
    const res = await request(httpsPort, "/api/readings", "POST", true, '{"t":4.5}');
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).name, "new");
    assert.equal(JSON.parse(res.body).body, '{"t":4.5}');
  });

  it("a new side at an IPv6 address: the challenge forward, the holder's target and the health check reach it there", async () => {
    // The new side's ask over the move key when --authorize recorded a bare IPv6 address (port 443).
    fs.writeFileSync(path.join(appDir, "state", "move-new-side"), "2001:db8::20\n");
    const exportBin = path.join(appDir, "current", "bin", "move-export");
    const released = await run(exportBin, ["--ssh"], { env: { ...process.env, ...stubEnv, SSH_ORIGINAL_COMMAND: "release" } });
    assert.equal(released.code, 0, released.stderr);
    const url = JSON.parse(fs.readFileSync(path.join(appDir, "state", "move-hold", "target.json"), "utf8")).url;
    assert.equal(url, "https://[2001:db8::20]:443");
    await sleep(300);
    const holdLog = fs.readFileSync(path.join(dir, "hold.log"), "utf8");
    assert.match(holdLog, /hold: target https:\/\/\[2001:db8::20\]\n/, "the holder took it as its target");
    assert.doesNotMatch(holdLog, /ignoring target\.json/);

    const a = await forward(["--acme-to", `[::1]:${newAcmePort}`]);
    assert.equal(a.code, 0, a.stderr);
    let c = await request(httpPort, "/.well-known/acme-challenge/tok6", "GET", false);
    for (let i = 0; i < 50 && c.body.indexOf("new-acme-v6") < 0; i++) {
      await sleep(200);
      c = await request(httpPort, "/.well-known/acme-challenge/tok6", "GET", false);
    }
    assert.equal(JSON.parse(c.body).name, "new-acme-v6", c.body);
    const r = await forward(["--to", `[::1]:${newPort}`]);
    assert.equal(r.code, 0, r.stderr);
    const health = JSON.parse(r.stdout.trim()).new_side_health;
    assert.deepEqual({ via: health.via, status: health.status }, { via: `[::1]:${newPort}`, status: 200 });
    assert.equal(JSON.parse((await forward(["--show"])).stdout).holder_target.url, `https://[::1]:${newPort}`);
    await sleep(300);
    const res = await request(httpsPort, "/api/readings", "POST", true, '{"t":4.6}');
    assert.equal(res.status, 200, res.body);
    assert.deepEqual([JSON.parse(res.body).name, JSON.parse(res.body).body], ["new-v6", '{"t":4.6}']);
  });

  it("--off: the old side serves again, the holder and the ACME forward are gone; running it twice changes nothing", async () => {
    const r = await forward(["--off"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await forward(["--off"])).code, 0);
    assert.ok(!fs.existsSync(marker()), "marker removed");
    assert.ok(!fs.existsSync(holderPid()), "holder stopped");
    assert.equal(JSON.parse((await request(httpsPort, "/api/readings", "POST", true, '{"t":5}')).body).name, "old");
    const shown = JSON.parse((await forward(["--show"])).stdout);
    assert.deepEqual(shown, { forward: false, holder: null, holder_target: null, acme: null });
    assert.deepEqual(JSON.parse(await running()), JSON.parse(original), "the running config is the original one again");
  });

  it("bin/deploy drops a forward marker no holder serves (a finished move's leftover), and keeps one that is served", async () => {
    const drop = () =>
      run(
        "bash",
        ["-c", `source '${path.join(appDir, "current", "bin", "lib.sh")}' && STATE_DIR='${path.join(appDir, "state")}' && ft_hold_drop_stale_marker`],
        {
          env: { ...process.env, ...stubEnv },
        },
      );
    fs.writeFileSync(marker(), "");
    const r = await drop();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(marker()), "a marker without a holder would send every request to nothing (502)");
    assert.match(r.stderr, /removed a move's forward marker/);
    assert.equal((await forward(["--to", `127.0.0.1:${newPort}`, "--ca", path.join(dir, "ca.pem")])).code, 0);
    assert.equal((await drop()).code, 0);
    assert.ok(fs.existsSync(marker()), "a served marker stays");
    assert.equal((await forward(["--off"])).code, 0);
  });
});
