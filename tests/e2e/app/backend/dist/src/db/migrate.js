"use strict";
// Stand-in for the Drizzle migration: forward-only, idempotent, against PostgreSQL directly.
const { log, makePool } = require("../common");

if (!process.env.DATABASE_URL) {
  console.error("migrate: DATABASE_URL is required");
  process.exit(1);
}
(async () => {
  const pool = makePool(1);
  await pool.query(`CREATE TABLE IF NOT EXISTS readings (
    id bigserial PRIMARY KEY,
    device_id text NOT NULL,
    f_cnt bigint NOT NULL,
    temperature double precision,
    received_at timestamptz NOT NULL DEFAULT now(),
    stored_at timestamptz NOT NULL DEFAULT now(),
    processed boolean NOT NULL DEFAULT false,
    payload jsonb,
    UNIQUE (device_id, f_cnt))`);
  await pool.query("CREATE TABLE IF NOT EXISTS __migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  await pool.query("INSERT INTO __migrations (name) VALUES ('0001_readings') ON CONFLICT DO NOTHING");
  await pool.end();
  log("info", "migrations applied");
})().catch((e) => {
  console.error(`migrate failed: ${e.message}`);
  process.exit(1);
});
