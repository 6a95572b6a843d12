"use strict";
// Shared by the stand-in backend, worker and migrate: config from the environment only
// (the app has no *_FILE support), a node-postgres Pool with statement_timeout as the real app.
const { Pool } = require("pg");

function log(level, msg, extra) {
  console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...(extra || {}) }));
}

function requireEnv(names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    log("fatal", `missing required environment: ${missing.join(", ")}`);
    process.exit(1);
  }
}

/** A positive integer from the environment, or the app's default (as the real app's config does). */
function intEnv(name, dflt) {
  const n = Number.parseInt(process.env[name] || "", 10);
  return Number.isFinite(n) && n > 0 ? n : dflt;
}

function makePool(max) {
  // statement_timeout is sent by node-postgres as a startup parameter, exactly as the
  // real app does: a PgBouncer without ignore_startup_parameters=...statement_timeout refuses it.
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, statement_timeout: 30000, max: max || 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10000 });
  pool.on("error", (e) => log("error", "idle database client error", { error: e.message }));
  return pool;
}

module.exports = { requireEnv, intEnv, log, makePool };
