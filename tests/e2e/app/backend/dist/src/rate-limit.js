"use strict";
// The real app's limiter semantics (@fastify/rate-limit with its in-memory store):
// RATE_LIMIT_MAX requests (default 100) per RATE_LIMIT_WINDOW ms (default 60000),
// per instance, keyed on the peer address + User-Agent. No proxy trust: the peer
// is the socket's address, so behind Caddy every client is Caddy. /health* is exempt.
const { intEnv } = require("./common");

function createLimiter() {
  const max = intEnv("RATE_LIMIT_MAX", 100);
  const windowMs = intEnv("RATE_LIMIT_WINDOW", 60000);
  const buckets = new Map(); // key -> { count, resetAt }: a fixed window from the key's first request
  let refused = 0;

  setInterval(() => {
    const now = Date.now();
    for (const [k, b] of buckets) if (b.resetAt <= now) buckets.delete(k);
  }, Math.min(windowMs, 60000)).unref();

  /** Returns true when the request may proceed; otherwise it has answered 429. */
  function check(req, res, url) {
    if (url === "/health" || url.startsWith("/health/") || url.startsWith("/health?")) return true;
    const key = `${req.socket.remoteAddress || ""}${req.headers["user-agent"] || ""}`;
    const now = Date.now();
    let b = buckets.get(key);
    if (!b || b.resetAt <= now) {
      b = { count: 0, resetAt: now + windowMs };
      buckets.set(key, b);
    }
    b.count++;
    const resetS = Math.ceil((b.resetAt - now) / 1000);
    res.setHeader("x-ratelimit-limit", String(max));
    res.setHeader("x-ratelimit-remaining", String(Math.max(0, max - b.count)));
    res.setHeader("x-ratelimit-reset", String(resetS));
    if (b.count <= max) return true;
    refused++;
    res.setHeader("retry-after", String(resetS));
    res.writeHead(429, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ statusCode: 429, error: "Too Many Requests", message: `Rate limit exceeded, retry in ${resetS} seconds` }));
    return false;
  }
  return { check, max, windowMs, refused: () => refused };
}

module.exports = { createLimiter };
