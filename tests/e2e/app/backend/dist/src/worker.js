"use strict";
// Stand-in worker: takes BullMQ-like jobs (reading ids) from Redis and marks them processed.
const Redis = require("ioredis");
const { requireEnv, log, makePool } = require("./common");

requireEnv(["DATABASE_URL", "STACK_AUTH_PROJECT_ID", "REDIS_URL"]);
const pool = makePool(2);
const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
redis.on("error", (e) => log("warn", "redis error", { error: e.message }));
let running = true;

async function loop() {
  log("info", "worker started");
  while (running) {
    try {
      const job = await redis.brpop("freshtrack:jobs:alerts", 2);
      if (!job) continue;
      await pool.query("UPDATE readings SET processed = true WHERE id = $1", [Number(job[1])]);
      await redis.incr("freshtrack:jobs:done");
    } catch (e) {
      if (running) {
        log("warn", "job failed", { error: e.message });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  await pool.end().catch(() => undefined);
  redis.disconnect();
  log("info", "worker stopped");
  process.exit(0);
}
process.on("SIGTERM", () => (running = false));
process.on("SIGINT", () => (running = false));
loop();
