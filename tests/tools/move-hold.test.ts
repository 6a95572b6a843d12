// The write freeze's request holder (move/hold.js of the RENDERED vm bundle) under the
// host's real Node: requests with bodies arriving before any target are kept, not
// answered; once target.json names the new side (HTTPS, certificate for the app's host
// from a test CA, as bin/move-forward --to writes it) every kept request reaches it once,
// body and Host intact; a request that outlives the hold gets 503; a new side that is not
// listening yet is dialled again (nothing was sent); a certificate from another CA is
// refused (502), never trusted. With FT_HOLD_TARGET (the aws load balancer's forwarder) it
// forwards at once and never reads target.json.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { freePort } from "../fixtures/bin/release";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";
import { mustPlan, one } from "../helpers/plan";
import { copiedFiles } from "../../components/shared/host/bundle-payload";

const DOMAIN = "freshtrack.acme-foods.example";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Seen = { method: string; url: string; host: string; body: string; sni: string; by: string };

function post(port: number, pathname: string, body: string): Promise<{ status: number; body: string; at: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method: "POST", path: pathname, headers: { host: DOMAIN, "content-type": "application/json" } },
      (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b, at: Date.now() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("tools: the freeze's request holder (rendered move/hold.js, real Node)", function () {
  this.timeout(120000);
  let dir = "";
  let script = "";
  const procs: ChildProcess[] = [];
  const servers: https.Server[] = [];
  const seen: Seen[] = [];

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let b = "";
    req.on("data", (c) => (b += c));
    req.on("end", () => {
      const sni = (req.socket as unknown as { servername?: string }).servername ?? "";
      seen.push({ method: req.method ?? "", url: req.url ?? "", host: req.headers.host ?? "", body: b, sni, by: String(req.headers["x-forwarded-by"]) });
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ stored: b }));
    });
  };

  async function newSide(port: number, key = "new.key", cert = "new.pem"): Promise<https.Server> {
    const s = https.createServer({ key: fs.readFileSync(path.join(dir, key)), cert: fs.readFileSync(path.join(dir, cert)) }, handler);
    await new Promise<void>((r) => s.listen(port, "127.0.0.1", () => r()));
    servers.push(s);
    return s;
  }

  async function holder(holdDir: string, maxMs: number, env: Record<string, string> = {}): Promise<number> {
    const port = await freePort();
    fs.mkdirSync(holdDir, { recursive: true });
    const p = spawn(process.execPath, [script], {
      env: {
        PATH: process.env.PATH,
        FT_HOLD_PORT: String(port),
        FT_HOLD_DIR: holdDir,
        FT_HOLD_MAX_MS: String(maxMs),
        FT_HOLD_HEALTH: "/.freshtrack-move/hold-health",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    procs.push(p);
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((r) =>
        http
          .get({ host: "127.0.0.1", port, path: "/.freshtrack-move/hold-health" }, (res) => (res.resume(), r(res.statusCode === 200)))
          .on("error", () => r(false)),
      );
      if (ok) return port;
      await sleep(100);
    }
    throw new Error("holder did not start");
  }

  // As ft_hold_release writes it: one rename, so the holder never reads half a file.
  const release = (holdDir: string, url: string, ca: string | null) => {
    if (ca) fs.copyFileSync(path.join(dir, ca), path.join(holdDir, ca));
    fs.writeFileSync(path.join(holdDir, ".target.tmp"), JSON.stringify({ url, ca }));
    fs.renameSync(path.join(holdDir, ".target.tmp"), path.join(holdDir, "target.json"));
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-hold-"));
    const plan = mustPlan("vm");
    const bundle = copiedFiles(one(plan, "command:remote:CopyToRemote", "copy-bundle").inputs.source);
    assert.ok(bundle["move/hold.js"], "the vm bundle ships move/hold.js");
    script = path.join(dir, "hold.js");
    fs.writeFileSync(script, bundle["move/hold.js"]);
    // The new side's certificate from the CA the holder is told to trust, and a rogue one for the
    // same name from another CA.
    issueServerCert(makeTestCa(dir, "ft-ca", "ca"), dir, [DOMAIN], "new");
    issueServerCert(makeTestCa(dir, "ft-other", "other"), dir, [DOMAIN], "rogue");
  });
  after(() => {
    for (const p of procs) p.kill("SIGKILL");
    for (const s of servers) s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps 50 readings until released, then each reaches the new side once, body, path and Host intact", async () => {
    const holdDir = path.join(dir, "hold1");
    const port = await holder(holdDir, 30000);
    const newPort = await freePort();
    await newSide(newPort);
    const t0 = Date.now();
    const pending = Array.from({ length: 50 }, (_, i) => post(port, `/api/webhooks/ttn?n=${i}`, JSON.stringify({ reading: i })));
    await sleep(1500);
    assert.equal(seen.length, 0, "nothing is forwarded before a target exists");
    const released = Date.now();
    release(holdDir, `https://127.0.0.1:${newPort}`, "ca.pem");
    const answers = await Promise.all(pending);
    console.log(`      figure: 50 POSTs kept ${released - t0} ms, all answered ${Math.max(...answers.map((a) => a.at)) - released} ms after release`);
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 201),
    );
    assert.ok(answers.every((a) => a.at >= released));
    assert.equal(seen.length, 50);
    for (let i = 0; i < 50; i++) {
      const s = seen.filter((x) => x.url === `/api/webhooks/ttn?n=${i}`);
      assert.equal(s.length, 1, `reading ${i} forwarded exactly once`);
      assert.equal(s[0].body, JSON.stringify({ reading: i }));
      assert.equal(s[0].host, DOMAIN);
      assert.equal(s[0].sni, DOMAIN);
      assert.equal(s[0].method, "POST");
      assert.equal(s[0].by, "freshtrack-move");
    }
    // Once released, a new request goes straight through.
    assert.equal((await post(port, "/api/after", "x")).status, 201);
  });

  it("clients that give up (held, or while the new side answers): each reading reaches the new side once, and the holder's sockets are freed (80 > 64)", async () => {
    // A freeze longer than a sensor's timeout: the proxy closes its connection to the holder,
    // before the release or while the new side is still answering (here slowly, 200 kB).
    const holdDir = path.join(dir, "hold-gone");
    const port = await holder(holdDir, 30000);
    const newPort = await freePort();
    const got: string[] = [];
    const slow = https.createServer({ key: fs.readFileSync(path.join(dir, "new.key")), cert: fs.readFileSync(path.join(dir, "new.pem")) }, (req, res) => {
      req.resume();
      req.on("end", () => {
        got.push(req.url ?? "");
        setTimeout(() => res.writeHead(201).end("x".repeat(200000)), 700);
      });
    });
    await new Promise<void>((r) => slow.listen(newPort, "127.0.0.1", () => r()));
    servers.push(slow);
    const giveUp = (pathname: string, afterMs: number) =>
      new Promise<void>((resolve) => {
        const req = http.request({ host: "127.0.0.1", port, method: "POST", path: pathname, headers: { host: DOMAIN } });
        req.on("error", () => resolve());
        req.end("reading", () => setTimeout(() => (req.destroy(), resolve()), afterMs));
      });
    // 40 give up while held, then the release, then 40 more give up while the new side answers.
    await Promise.all(Array.from({ length: 40 }, (_, i) => giveUp(`/api/gone?held=${i}`, 200)));
    release(holdDir, `https://127.0.0.1:${newPort}`, "ca.pem");
    await Promise.all(Array.from({ length: 40 }, (_, i) => giveUp(`/api/gone?answering=${i}`, 300)));
    for (let i = 0; i < 100 && got.length < 80; i++) await sleep(100);
    assert.equal(got.length, 80, "every reading whose sender gave up is delivered");
    assert.equal(new Set(got).size, 80, "each exactly once");
    await sleep(1000);
    const t0 = Date.now();
    const after = await Promise.race([post(port, "/api/after-gone", "next"), sleep(8000).then(() => ({ status: 0, body: "", at: 0 }))]);
    assert.equal(after.status, 201, "a request after 80 abandoned ones is answered (no socket left stuck on an answer nobody reads)");
    console.log(`      figure: 80 abandoned readings delivered; the next request answered in ${Date.now() - t0} ms`);
  });

  it("a request kept longer than the hold gets 503 with Retry-After, and is never forwarded later", async () => {
    const holdDir = path.join(dir, "hold2");
    const port = await holder(holdDir, 1500);
    const before = seen.length;
    const r = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/api/late", headers: { host: DOMAIN } }, resolve);
      req.on("error", reject);
      req.end("late");
    });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers["retry-after"], "5");
    const newPort = await freePort();
    await newSide(newPort);
    release(holdDir, `https://127.0.0.1:${newPort}`, "ca.pem");
    await sleep(500);
    assert.equal(seen.length, before);
  });

  it("SIGTERM while a request is held: the holder drains for FT_HOLD_DRAIN_MS, then exits 0 (its restart policy brings it back)", async () => {
    const port = await holder(path.join(dir, "hold-drain"), 60000, { FT_HOLD_DRAIN_MS: "1500" });
    const proc = procs[procs.length - 1];
    // Held: no target.json, so it waits up to the 60 s hold.
    const held = post(port, "/api/held", "{}").catch((e: Error) => ({ status: 0, body: e.message, at: Date.now() }));
    await sleep(300);
    const t = Date.now();
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill("SIGTERM");
    const code = await Promise.race([exited, sleep(15000).then(() => "still running" as const)]);
    assert.equal(code, 0, "the holder did not exit after SIGTERM with a request held");
    const s = (Date.now() - t) / 1000;
    assert.ok(s >= 1, `exited after ${s} s: the held request got no drain`);
    await held;
  });

  it("target.json removed (bin/move-export --take-back): requests are kept again, none goes to the old target, and a new target gets them once", async () => {
    const holdDir = path.join(dir, "hold-take-back");
    const port = await holder(holdDir, 30000);
    const lbPort = await freePort();
    await newSide(lbPort);
    release(holdDir, `https://127.0.0.1:${lbPort}`, "ca.pem");
    assert.equal((await post(port, "/api/to-lb", "before")).status, 201, "forwarded while the target is there");
    fs.rmSync(path.join(holdDir, "target.json"));
    // The holder reads its directory every 100 ms.
    await sleep(400);
    const before = seen.length;
    const pending = Array.from({ length: 10 }, (_, i) => post(port, `/api/taken-back?n=${i}`, `r${i}`));
    await sleep(1500);
    assert.equal(seen.length, before, "nothing is forwarded once the target is gone");
    // The old host serves again: its own Caddy (here another server the same CA vouches for).
    const backPort = await freePort();
    const backSeen: string[] = [];
    const back = https.createServer({ key: fs.readFileSync(path.join(dir, "new.key")), cert: fs.readFileSync(path.join(dir, "new.pem")) }, (req, res) => {
      req.resume();
      req.on("end", () => (backSeen.push(req.url ?? ""), res.writeHead(201).end()));
    });
    await new Promise<void>((r) => back.listen(backPort, "127.0.0.1", () => r()));
    servers.push(back);
    release(holdDir, `https://127.0.0.1:${backPort}`, "ca.pem");
    const answers = await Promise.all(pending);
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 201),
    );
    assert.deepEqual(backSeen.sort(), Array.from({ length: 10 }, (_, i) => `/api/taken-back?n=${i}`).sort(), "each kept request reaches the new target once");
    assert.equal(seen.length, before, "and none the old one");
  });

  it("a new side not listening yet is dialled again until it is (the request was never sent)", async () => {
    const holdDir = path.join(dir, "hold3");
    const port = await holder(holdDir, 20000);
    const newPort = await freePort();
    release(holdDir, `https://127.0.0.1:${newPort}`, "ca.pem");
    const pending = post(port, "/api/dial-again", "once");
    await sleep(1000);
    await newSide(newPort);
    const r = await pending;
    assert.equal(r.status, 201);
    assert.equal(seen.filter((s) => s.url === "/api/dial-again").length, 1);
  });

  it("FT_HOLD_TARGET (the load balancer's forwarder): forwards from the start, TLS verified by the default trust store, target.json never read", async () => {
    const holdDir = path.join(dir, "hold-fixed");
    const newPort = await freePort();
    await newSide(newPort);
    // A second server the test CA also vouches for: a target.json naming it must change nothing.
    const decoyPort = await freePort();
    const decoyGot: string[] = [];
    const decoy = https.createServer({ key: fs.readFileSync(path.join(dir, "new.key")), cert: fs.readFileSync(path.join(dir, "new.pem")) }, (req, res) => {
      decoyGot.push(req.url ?? "");
      req.resume();
      res.writeHead(299).end();
    });
    await new Promise<void>((r) => decoy.listen(decoyPort, "127.0.0.1", () => r()));
    servers.push(decoy);
    fs.mkdirSync(holdDir, { recursive: true });
    release(holdDir, `https://127.0.0.1:${decoyPort}`, "ca.pem");
    // No "ca": on ECS the new host's certificate is checked against the public CAs; here the test CA joins Node's default store.
    const port = await holder(holdDir, 30000, {
      FT_HOLD_TARGET: JSON.stringify({ url: `https://127.0.0.1:${newPort}` }),
      NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem"),
    });
    const t0 = Date.now();
    const r = await post(port, "/api/fixed-target", "at once");
    assert.equal(r.status, 201);
    assert.ok(r.at - t0 < 2000, "nothing is held: the target is there from the start");
    release(holdDir, `https://127.0.0.1:${decoyPort}`, "ca.pem");
    await sleep(500);
    assert.equal((await post(port, "/api/fixed-target-after", "still")).status, 201);
    const got = seen.filter((s) => s.url.startsWith("/api/fixed-target"));
    assert.deepEqual(
      got.map((s) => [s.url, s.body, s.host, s.sni]),
      [
        ["/api/fixed-target", "at once", DOMAIN, DOMAIN],
        ["/api/fixed-target-after", "still", DOMAIN, DOMAIN],
      ],
    );
    assert.deepEqual(decoyGot, [], "target.json is never read");
  });

  it("chained as on a move off aws (forwarder -> the new host's holder, which keeps the request): the forwarder waits FT_HOLD_UPSTREAM_TIMEOUT_MS for the answer (1 s: 502; 8 s: answered after the 3 s hold, delivered once)", async () => {
    // The new host's holder keeps the request (no target yet); the forwarder in front waits for it.
    const newPort = await freePort();
    await newSide(newPort);
    const innerDir = path.join(dir, "hold-inner");
    const inner = await holder(innerDir, 120000);
    const forwarderWith = (upstreamMs: number) =>
      holder(path.join(dir, `hold-fwd-${upstreamMs}`), 120000, {
        FT_HOLD_TARGET: JSON.stringify({ url: `http://127.0.0.1:${inner}` }),
        FT_HOLD_UPSTREAM_TIMEOUT_MS: String(upstreamMs),
      });
    // Too short a wait: the forwarder gives up on a request the next hop keeps (the old 60 s limit, scaled down).
    const short = await forwarderWith(1000);
    const waitShort = post(short, "/api/chained-short", "one");
    const patient = await forwarderWith(8000);
    const waitLong = post(patient, "/api/chained-long", "two");
    await sleep(3000);
    release(innerDir, `https://127.0.0.1:${newPort}`, "ca.pem");
    assert.equal((await waitShort).status, 502, "the forwarder stopped waiting after 1 s of silence");
    assert.equal((await waitLong).status, 201, "held 3 s on the next hop, answered through both");
    assert.equal(seen.filter((s) => s.url === "/api/chained-long").length, 1, "delivered once");
  });

  it("a bad FT_HOLD_TARGET stops the holder at start (exit 1), instead of holding every request into a 503", () => {
    const p = spawnSync(process.execPath, [script], {
      env: { PATH: process.env.PATH, FT_HOLD_PORT: "0", FT_HOLD_DIR: path.join(dir, "hold-bad"), FT_HOLD_TARGET: "https://no-json" },
      encoding: "utf8",
      timeout: 10000,
    });
    assert.equal(p.status, 1);
    assert.match(p.stderr, /bad FT_HOLD_TARGET/);
  });

  it("a certificate the trusted CA did not sign is refused at once: 502, nothing delivered (the check can fail)", async () => {
    const holdDir = path.join(dir, "hold4");
    const port = await holder(holdDir, 60000);
    const newPort = await freePort();
    await newSide(newPort, "rogue.key", "rogue.pem");
    release(holdDir, `https://127.0.0.1:${newPort}`, "ca.pem");
    const r = await post(port, "/api/rogue", "secret reading");
    assert.equal(r.status, 502);
    assert.equal(seen.filter((s) => s.url === "/api/rogue").length, 0);
  });
});
