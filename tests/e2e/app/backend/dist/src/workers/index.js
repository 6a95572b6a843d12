"use strict";
// Stand-in worker (BullMQ in the real app): takes alert jobs (reading ids) from Redis and
// marks the readings processed. Like the real worker it starts with no variable at all
// and keeps retrying its connections (Redis defaults to localhost:6379, as BullMQ does).
const Redis = require("ioredis");
const { log, makePool } = require("../common");

const pool = makePool(2);
const redis = new Redis(process.env.REDIS_URL || "redis://127.0.0.1:6379", { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 500, 5000) });
redis.on("error", (e) => log("warn", "redis error", { error: e.message }));
let running = true;

async function loop() {
  log("info", "worker started");
  while (running) {
    try {
      const job = await redis.brpop("freshtrack:jobs:alerts", 2);
      if (!job) continue;
      await pool.query("UPDATE sensor_readings SET processed = true WHERE id = $1", [Number(job[1])]);
      await redis.incr("freshtrack:jobs:done");
    } catch (e) {
      if (running) {
        // The job is not put back (docs/deploy.md): the loop takes the next one after a second.
        log("warn", "job failed and dropped; taking the next in 1 s", { error: e.message });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  await pool.end().catch(() => undefined);
  redis.disconnect();
  log("info", "worker stopped");
  process.exit(0);
}
function stop() {
  running = false;
  // A command waiting for a connection that never came would block the loop: closing rejects it.
  setTimeout(() => redis.disconnect(), 2500).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
loop();
