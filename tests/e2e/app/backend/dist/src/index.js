"use strict";
// Stand-in FreshTrack backend: the real app's contract where our deployment depends on it
// (start-up, health bodies, the TTN webhook, sensor_readings, the rate limiter, SIGTERM drain).
// Node http + pg + ioredis instead of Fastify + tRPC + Socket.io + Drizzle + BullMQ.
const crypto = require("crypto");
const http = require("http");
const Redis = require("ioredis");
const { requireEnv, intEnv, log, makePool } = require("./common");
const { createLimiter } = require("./rate-limit");

requireEnv(["DATABASE_URL", "STACK_AUTH_PROJECT_ID"]);
const port = intEnv("PORT", 3000);
const pool = makePool(10);
// Without REDIS_URL the real backend starts with queues disabled and /health answers 503.
const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }) : null;
if (redis) redis.on("error", (e) => log("warn", "redis error", { error: e.message }));
else log("warn", "REDIS_URL not set: queues disabled");
const limiter = createLimiter();

let shuttingDown = false;
let inFlight = 0;

function send(res, status, body) {
  if (shuttingDown) res.setHeader("Connection", "close");
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
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

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isStr = (v) => typeof v === "string" && v.length > 0;
const isInt = (v) => Number.isInteger(v) && v >= 0;

/** TTN v3 uplink validation: the list of what is wrong (empty when valid). */
function validateUplink(m) {
  const errs = [];
  if (!isObj(m)) return ["body must be a JSON object"];
  const ids = m.end_device_ids;
  if (!isObj(ids)) errs.push("end_device_ids is required");
  else {
    if (!isStr(ids.device_id)) errs.push("end_device_ids.device_id is required");
    if (!isStr(ids.dev_eui) || !/^[0-9A-Fa-f]{16}$/.test(ids.dev_eui)) errs.push("end_device_ids.dev_eui must be 16 hex digits");
    if (!isObj(ids.application_ids) || !isStr(ids.application_ids.application_id)) errs.push("end_device_ids.application_ids.application_id is required");
  }
  if (!isStr(m.received_at) || Number.isNaN(Date.parse(m.received_at))) errs.push("received_at must be a date-time");
  const up = m.uplink_message;
  if (!isObj(up)) errs.push("uplink_message is required");
  else {
    if (!isInt(up.f_port)) errs.push("uplink_message.f_port must be an integer");
    if (!isInt(up.f_cnt)) errs.push("uplink_message.f_cnt must be an integer");
    if (!isObj(up.decoded_payload)) errs.push("uplink_message.decoded_payload is required");
    if (up.rx_metadata !== undefined && !Array.isArray(up.rx_metadata)) errs.push("uplink_message.rx_metadata must be an array");
  }
  return errs;
}

const sha256 = (s) => crypto.createHash("sha256").update(s).digest("hex");

async function ttnUplink(req, res) {
  let msg;
  try {
    msg = JSON.parse(await readBody(req));
  } catch {
    return send(res, 400, { error: "Bad Request", message: "body is not JSON" });
  }
  const errs = validateUplink(msg);
  if (errs.length) return send(res, 400, { error: "Bad Request", message: errs.join("; ") });
  // The organisation's webhook secret, in either header.
  const key = req.headers["x-api-key"] || req.headers["x-webhook-secret"];
  if (!isStr(key)) return send(res, 401, { error: "Unauthorized", message: "missing webhook secret" });
  const org = await pool.query("SELECT id FROM organizations WHERE webhook_secret_hash = $1", [sha256(key)]);
  if (!org.rows[0]) return send(res, 401, { error: "Unauthorized", message: "invalid webhook secret" });
  const ids = msg.end_device_ids;
  const dev = await pool.query("SELECT id FROM devices WHERE organization_id = $1 AND dev_eui = $2", [org.rows[0].id, ids.dev_eui.toUpperCase()]);
  if (!dev.rows[0]) return send(res, 404, { error: "Not Found", message: `unknown device ${ids.dev_eui}` });
  const up = msg.uplink_message;
  const t = up.decoded_payload.temperature;
  // Stored first; only then acknowledged.
  const r = await pool.query(
    "INSERT INTO sensor_readings (device_id, temperature, recorded_at, f_cnt, f_port, source, raw_payload) VALUES ($1, $2, $3::timestamptz, $4, $5, 'ttn', $6) RETURNING id",
    [dev.rows[0].id, typeof t === "number" && Number.isFinite(t) ? t : null, msg.received_at, up.f_cnt, up.f_port, JSON.stringify(msg)],
  );
  if (redis) {
    // Alert evaluation happens in the worker; best effort: the reading is stored.
    redis.lpush("freshtrack:jobs:alerts", String(r.rows[0].id)).catch((e) => log("warn", "enqueue failed", { error: e.message }));
  }
  // Echo what was stored: the e2e client checks the answer belongs to its own request.
  return send(res, 200, { success: true, readingId: String(r.rows[0].id), device_id: ids.device_id, f_cnt: up.f_cnt });
}

const server = http.createServer(async (req, res) => {
  inFlight++;
  res.on("close", () => inFlight--);
  const url = (req.url || "/").split("?")[0];
  try {
    if (!limiter.check(req, res, url)) return;
    if (req.method === "GET" && url === "/health/live") return send(res, 200, { alive: true });
    if (req.method === "GET" && url === "/health/ready") {
      const ok = !shuttingDown && (await dbOk());
      return send(res, ok ? 200 : 503, { ready: ok });
    }
    if (req.method === "GET" && url === "/health") {
      const [db, rd] = await Promise.all([dbOk(), redisOk()]);
      return send(res, db && rd ? 200 : 503, { status: db && rd ? "healthy" : "unhealthy", checks: { database: db, redis: rd } });
    }
    if (req.method === "POST" && url === "/api/webhooks/ttn") return await ttnUplink(req, res);
    return send(res, 404, { error: "Not Found", message: `Route ${req.method}:${url} not found` });
  } catch (e) {
    log("error", "request failed", { path: url, error: e.message });
    if (!res.headersSent) send(res, 500, { error: "Internal Server Error" });
  }
});
server.keepAliveTimeout = 65000;
// Each connection's peer and use, logged at SIGTERM and every 2 s while draining: what a slow
// drain waits on (a move's write freeze waits for this process to exit). Not on each close:
// the last one's close event comes after the exit it allows.
const sockets = new Set();
server.on("connection", (s) => {
  s.ft = { peer: `${s.remoteAddress}:${s.remotePort}`, requests: 0, last: Date.now() };
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
function connectionsNow() {
  const now = Date.now();
  return [...sockets].map((s) => ({ peer: s.ft.peer, requests: s.ft.requests, idleMs: now - s.ft.last }));
}
server.on("request", (req, res) => {
  req.socket.ft.requests++;
  res.on("finish", () => (req.socket.ft.last = Date.now()));
});
server.listen(port, "0.0.0.0", () => log("info", `backend listening on ${port}`, { rateLimitMax: limiter.max, rateLimitWindowMs: limiter.windowMs }));

function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  log("info", `${signal}: draining`, { inFlight, rateLimited: limiter.refused(), connections: connectionsNow() });
  setInterval(() => log("info", "still draining", { inFlight, connections: connectionsNow() }), 2000).unref();
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
