"use strict";
// Shared by the stand-in backend, worker and migrate: config from the environment only
// (APP.md: no *_FILE support), a node-postgres Pool with statement_timeout as the real app.
const { Pool } = require("pg");

function requireEnv(names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    console.error(JSON.stringify({ level: "fatal", msg: `missing required environment: ${missing.join(", ")}` }));
    process.exit(1);
  }
}

function log(level, msg, extra) {
  console.log(JSON.stringify({ time: new Date().toISOString(), level, release: process.env.APP_RELEASE || "1", msg, ...(extra || {}) }));
}

function makePool(max) {
  // statement_timeout is sent by node-postgres as a startup parameter, exactly as the
  // real app does: a PgBouncer without ignore_startup_parameters=...statement_timeout refuses it.
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, statement_timeout: 30000, max: max || 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10000 });
  pool.on("error", (e) => log("error", "idle database client error", { error: e.message }));
  return pool;
}

module.exports = { requireEnv, log, makePool };
