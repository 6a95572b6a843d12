"use strict";
// Stand-in for the Drizzle migration: forward-only, idempotent, against PostgreSQL directly.
// The tables the webhook path reads and writes: organisations (with their webhook secret,
// stored hashed), devices, sensor_readings. Columns are the stand-in's own.
const { log, makePool } = require("../common");

if (!process.env.DATABASE_URL) {
  console.error("migrate: DATABASE_URL is required");
  process.exit(1);
}
(async () => {
  const pool = makePool(1);
  await pool.query(`CREATE TABLE IF NOT EXISTS organizations (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    webhook_secret_hash text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE TABLE IF NOT EXISTS devices (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations(id),
    device_id text NOT NULL,
    dev_eui text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, dev_eui))`);
  await pool.query(`CREATE TABLE IF NOT EXISTS sensor_readings (
    id bigserial PRIMARY KEY,
    device_id bigint NOT NULL REFERENCES devices(id),
    temperature double precision,
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    f_cnt bigint,
    f_port integer,
    source text NOT NULL DEFAULT 'ttn',
    processed boolean NOT NULL DEFAULT false,
    raw_payload jsonb)`);
  await pool.query("CREATE INDEX IF NOT EXISTS sensor_readings_device_recorded ON sensor_readings (device_id, recorded_at)");
  await pool.query("CREATE TABLE IF NOT EXISTS __migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  await pool.query("INSERT INTO __migrations (name) VALUES ('0001_sensor_readings') ON CONFLICT DO NOTHING");
  await pool.end();
  log("info", "migrations applied");
})().catch((e) => {
  console.error(`migrate failed: ${e.message}`);
  process.exit(1);
});
