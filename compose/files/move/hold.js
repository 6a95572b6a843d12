// The old side's request holder during a move's cutover (docs/move.md).
//
// bin/move-export --freeze starts it and has Caddy send it every request for the app's hosts
// (marker state/proxy/move.forward) BEFORE the backend stops: a reading that arrives while no
// backend may write is kept here (body read in full) instead of being answered 502. When a
// target appears in /hold/target.json, every kept and every later request is sent there,
// Host, path and body unchanged, TLS verified for the request's own host name:
//   bin/move-export --release (asked by the new side's bin/move-import once its backend
//   answers) and bin/move-forward --to: {"url": "https://NEW:443", "ca": "ca.pem" | null} (a file
//   beside target.json);
//   a failed cutover or a rollback: {"url": "https://caddy:443", ...}, this side's own Caddy.
// When target.json goes (bin/move-export --take-back: a rollback takes requests back from an aws
// new side), requests are kept again until a new target appears.
// Behind an aws old side's load balancer (components/aws/move-forward.ts) it forwards from the
// start: FT_HOLD_TARGET (environment, the same JSON) is then the target, and target.json is
// never read (that task has no file to read).
// The holder's own health path (FT_HOLD_HEALTH) is answered here, never forwarded.
// A request kept longer than FT_HOLD_MAX_MS (default 110 s) is answered 503 with Retry-After.
// A connection that fails before the request was sent is tried again until then: the request
// never reached an app, so sending it once more cannot store it twice.
// Runs with the backend's own image (node), as nobody, on a read-only root. Logs counts only:
// never a header or a body (webhook secrets travel in headers).
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const path = require("path");

const PORT = Number(process.env.FT_HOLD_PORT || 3000);
const HEALTH = process.env.FT_HOLD_HEALTH || "/.freshtrack-move/hold-health";
const DIR = process.env.FT_HOLD_DIR || "/hold";
const MAX_MS = Number(process.env.FT_HOLD_MAX_MS || 110000);
// How long a forwarded request may wait for its answer. Behind the aws load balancer the next hop
// is the new host's own holder, which keeps requests through the whole freeze (minutes).
const UPSTREAM_MS = Number(process.env.FT_HOLD_UPSTREAM_TIMEOUT_MS || 60000);
const MAX_BODY = 10 * 1024 * 1024;
const POLL_MS = 100;
// Hop-by-hop headers (RFC 9110 7.6.1) are the holder's own business, never forwarded.
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

const DIAL_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

// gone: delivered, but the client had closed its connection before the answer reached it.
const counts = { held: 0, forwarded: 0, failed: 0, expired: 0, gone: 0 };
let target = null;
let targetText = "";

/** A target from its JSON text; throws when the text is not one. */
function parseTarget(text) {
  const t = JSON.parse(text);
  const url = new URL(t.url);
  // A file in the holder's directory (only its name is taken: nothing outside it is read).
  const ca = t.ca ? fs.readFileSync(path.join(DIR, path.basename(t.ca))) : undefined;
  const mod = url.protocol === "https:" ? https : http;
  return { url, ca, mod, agent: new mod.Agent({ keepAlive: true, maxSockets: 64 }) };
}

/** Re-reads target.json (a rename by the host, so never half-written); a bad file is ignored, no file means keep. */
function readTarget() {
  let text = "";
  try {
    text = fs.readFileSync(`${DIR}/target.json`, "utf8");
  } catch (e) {
    if (e.code === "ENOENT" && target) {
      target = null;
      targetText = "";
      console.log("hold: no target: keeping requests");
    }
    return;
  }
  if (text === targetText) return;
  try {
    target = parseTarget(text);
    targetText = text;
    console.log(`hold: target ${target.url.protocol}//${target.url.host}`);
  } catch (e) {
    console.error(`hold: ignoring target.json: ${e.message}`);
  }
}
if (process.env.FT_HOLD_TARGET) {
  // A bad fixed target can never turn good: fail at start, where the task's health shows it.
  try {
    target = parseTarget(process.env.FT_HOLD_TARGET);
  } catch (e) {
    console.error(`hold: bad FT_HOLD_TARGET: ${e.message}`);
    process.exit(1);
  }
  console.log(`hold: target ${target.url.protocol}//${target.url.host} (FT_HOLD_TARGET)`);
} else {
  setInterval(readTarget, POLL_MS).unref();
  readTarget();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(Object.assign(new Error("body too large"), { status: 413 }));
      else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** One attempt; rejects with .retry = true when the request cannot have reached the upstream. */
function send(t, req, body, res) {
  return new Promise((resolve, reject) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers["content-length"] = String(body.length);
    headers["x-forwarded-by"] = "freshtrack-move";
    const host = String(req.headers.host || t.url.hostname).replace(/:\d+$/, "");
    const out = t.mod.request({
      protocol: t.url.protocol,
      // URL keeps an IPv6 address in brackets ("[2001:db8::20]"); the dial wants it without.
      hostname: t.url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: t.url.port || (t.url.protocol === "https:" ? 443 : 80),
      method: req.method,
      path: req.url,
      headers,
      agent: t.agent,
      servername: host,
      ca: t.ca,
      timeout: UPSTREAM_MS,
    });
    out.on("timeout", () => out.destroy(new Error("upstream timeout")));
    // Once an answer began, the request was received: whatever fails afterwards is never retried.
    let answered = false;
    out.on("response", (up) => {
      answered = true;
      up.on("end", resolve);
      up.on("error", reject);
      // The client gave up (a sensor's timeout during a long freeze): the request was delivered;
      // read the answer anyway, or its socket stays busy and, once every socket is, nothing
      // more is forwarded.
      const drain = () => {
        counts.gone++;
        up.unpipe(res);
        up.resume();
      };
      if (res.destroyed) return drain();
      const h = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) h[k] = v;
      res.writeHead(up.statusCode, h);
      up.pipe(res);
      res.once("close", () => {
        if (!res.writableFinished) drain();
      });
    });
    out.on("error", (e) => {
      // Retried only when the request cannot have been received: an error of the connection's
      // set-up (before a byte of the request left), or a kept-alive socket the upstream had closed
      // (Node's documented case), and no answer begun. A certificate that does not verify is
      // final: trying again would only delay the 502.
      e.retry = !answered && !res.headersSent && (DIAL_ERRORS.has(e.code) || (out.reusedSocket && e.code === "ECONNRESET"));
      reject(e);
    });
    out.end(body);
  });
}

async function handle(req, res) {
  // Our own liveness (bin/move-lib.sh checks it from the caddy container), never the app's.
  if (req.method === "GET" && req.url === HEALTH) {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end('{"holding":true}');
  }
  const deadline = Date.now() + MAX_MS;
  let body;
  try {
    body = await readBody(req);
  } catch (e) {
    counts.failed++;
    res.writeHead(e.status || 400, { connection: "close" });
    return res.end();
  }
  let held = false;
  for (;;) {
    const t = target;
    if (t) {
      try {
        await send(t, req, body, res);
        counts.forwarded++;
        return;
      } catch (e) {
        if (!e.retry || Date.now() > deadline) {
          counts.failed++;
          console.error(`hold: ${req.method} failed: ${e.code || e.message}`);
          if (!res.headersSent) res.writeHead(502, { connection: "close" });
          return res.end();
        }
      }
    } else if (!held) {
      held = true;
      counts.held++;
    }
    if (Date.now() > deadline) {
      counts.expired++;
      res.writeHead(503, { "retry-after": "5", connection: "close" });
      return res.end();
    }
    await sleep(POLL_MS);
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(`hold: ${e.message}`);
    if (!res.headersSent) res.writeHead(500, { connection: "close" });
    res.end();
  });
});
// Longer than the proxy keeps an idle connection to us: the proxy, not we, closes it (Caddy's
// 2 minutes by default; behind the aws load balancer its idle timeout, set by FT_HOLD_KEEPALIVE_MS).
server.keepAliveTimeout = Number(process.env.FT_HOLD_KEEPALIVE_MS || 130000);
server.requestTimeout = 0;
server.listen(PORT, () => console.log(`hold: listening on ${PORT}, keeping requests up to ${MAX_MS} ms`));
setInterval(() => console.log(`hold: ${JSON.stringify(counts)}`), 10000).unref();
// Graceful: no new connection, what it holds or forwards gets at most FT_HOLD_DRAIN_MS (on a host
// bin/move-lib.sh sets it to the `docker stop` timeout it uses), so that a SIGTERM from anywhere
// ends in an exit and the restart policy brings it back.
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), Number(process.env.FT_HOLD_DRAIN_MS || 30000)).unref();
});
