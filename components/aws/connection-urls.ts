// Connection URLs handed to the app through Secrets Manager. Credentials are
// URL-encoded: an unencoded '/', '+' or '=' in a password breaks the URL.
import { createHash, createHmac, pbkdf2Sync } from "crypto";
import { RDS_URL_TLS } from "./rds-ca";
export const PG_PORT = 5432;
export const REDIS_PORT = 6379;

/**
 * DATABASE_URL, straight to RDS (no pooler on AWS, so migrations and the app use
 * the same URL). verify-full against the region's RDS root CAs, which the task's
 * entry point writes to the sslrootcert file (rds-ca.ts); TLS is also forced
 * server-side (rds.force_ssl=1).
 */
export function databaseUrl(user: string, password: string, host: string, db: string): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${PG_PORT}/${encodeURIComponent(db)}?${RDS_URL_TLS}`;
}

/** rediss:// (TLS) with the ElastiCache AUTH token as password. */
export function redisUrl(token: string, host: string): string {
  return `rediss://:${encodeURIComponent(token)}@${host}:${REDIS_PORT}`;
}

/**
 * PostgreSQL SCRAM-SHA-256 verifier of `password` (what pg_authid stores). The
 * db-setup task sets the app role's password from this, so the plain password
 * never reaches that task, a statement, or a server log line. The salt is derived
 * from the password itself: same password, same verifier, no spurious diff.
 */
export function scramSha256Verifier(password: string, iterations = 4096): string {
  // SASLprep would normalise non-ASCII; our generated passwords are alphanumeric.
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error("scram verifier: only printable ASCII passwords are supported");
  const salt = createHmac("sha256", password).update("freshtrack-scram-salt").digest().subarray(0, 16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
