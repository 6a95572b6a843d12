"use strict";
// Stand-in FreshTrack backend (APP.md contract): Node http + pg + ioredis.
const http = require("http");
const Redis = require("ioredis");
const { requireEnv, log, makePool } = require("./common");

requireEnv(["DATABASE_URL", "STACK_AUTH_PROJECT_ID"]);
const port = Number(process.env.PORT || 3000);
const pool = makePool(10);
const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }) : null;
if (redis) redis.on("error", (e) => log("warn", "redis error", { error: e.message }));

let shuttingDown = false;
let inFlight = 0;

function send(res, status, body) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  if (shuttingDown) res.setHeader("Connection", "close");
  res.writeHead(status, { "Content-Type": typeof body === "string" ? "text/plain" : "application/json" });
  res.end(text);
}

function withTimeout(p, ms) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${ms} ms`)), ms))]);
}

async function dbOk() {
  try {
    await withTimeout(pool.query("SELECT 1"), 2000);
    return true;
  } catch (e) {
    log("warn", "database check failed", { error: e.message });
    return false;
  }
}

async function redisOk() {
  if (!redis) return false;
  try {
    return (await withTimeout(redis.ping(), 2000)) === "PONG";
  } catch {
    return false;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > 1 << 20) reject(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function ttnUplink(req, res) {
  let msg;
  try {
    msg = JSON.parse(await readBody(req));
  } catch {
    return send(res, 400, { error: "invalid JSON" });
  }
  const device = msg && msg.end_device_ids && msg.end_device_ids.device_id;
  const up = (msg && msg.uplink_message) || {};
  const fCnt = Number(up.f_cnt);
  const temperature = up.decoded_payload && Number(up.decoded_payload.temperature);
  if (!device || !Number.isInteger(fCnt)) return send(res, 400, { error: "end_device_ids.device_id and uplink_message.f_cnt are required" });
  // Stored first; only then acknowledged. Idempotent on (device, f_cnt): TTN may redeliver.
  const r = await pool.query(
    "INSERT INTO readings (device_id, f_cnt, temperature, received_at, payload) VALUES ($1, $2, $3, COALESCE($4::timestamptz, now()), $5) ON CONFLICT (device_id, f_cnt) DO NOTHING RETURNING id",
    [device, fCnt, Number.isFinite(temperature) ? temperature : null, msg.received_at || null, JSON.stringify(msg)],
  );
  if (redis && r.rows[0]) {
    // BullMQ-like: the worker takes alert evaluation jobs from a list. Best effort: the reading is stored.
    redis.lpush("freshtrack:jobs:alerts", String(r.rows[0].id)).catch((e) => log("warn", "enqueue failed", { error: e.message }));
  }
  // Echo what was stored: a client can check the answer belongs to its own request.
  return send(res, 202, { stored: true, duplicate: !r.rows[0], device, f_cnt: fCnt });
}

const server = http.createServer(async (req, res) => {
  inFlight++;
  res.on("close", () => inFlight--);
  const url = (req.url || "/").split("?")[0];
  try {
    if (req.method === "GET" && url === "/health/live") return send(res, 200, { status: "ok", release: process.env.APP_RELEASE || "1" });
    if (req.method === "GET" && url === "/health/ready") {
      const ok = !shuttingDown && (await dbOk());
      return send(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable", database: ok });
    }
    if (req.method === "GET" && url === "/health") {
      const [db, rd] = await Promise.all([dbOk(), redisOk()]);
      return send(res, db && rd ? 200 : 503, { status: db && rd ? "ok" : "degraded", database: db, redis: rd, release: process.env.APP_RELEASE || "1" });
    }
    if (req.method === "POST" && url === "/api/webhooks/ttn") return await ttnUplink(req, res);
    if (url.startsWith("/api/") || url.startsWith("/trpc/") || url.startsWith("/unsubscribe")) return send(res, 404, { error: "not found", path: url });
    return send(res, 404, { error: "not a backend path", path: url });
  } catch (e) {
    log("error", "request failed", { path: url, error: e.message });
    if (!res.headersSent) send(res, 500, { error: "internal error" });
  }
});
server.keepAliveTimeout = 65000;
server.listen(port, "0.0.0.0", () => log("info", `backend listening on ${port}`));

function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  log("info", `${signal}: draining`, { inFlight });
  // Stop accepting; in-flight requests finish; idle keep-alive sockets close.
  server.close(async () => {
    log("info", "drained; closing pools");
    await pool.end().catch(() => undefined);
    if (redis) redis.disconnect();
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => server.closeIdleConnections(), 1000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
