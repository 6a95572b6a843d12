// Connection URLs handed to the app through Secrets Manager. Credentials are
// URL-encoded: the old deployment broke on '/+=' in generated passwords.
export const PG_PORT = 5432;
export const REDIS_PORT = 6379;

/**
 * DATABASE_URL, straight to RDS (no pooler on AWS, so migrations and the app use
 * the same URL). `no-verify`: TLS is forced server-side (rds.force_ssl=1), but
 * node-postgres treats `require` as verify-full and the image has no RDS CA bundle.
 */
export function databaseUrl(user: string, password: string, host: string, db: string): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${PG_PORT}/${encodeURIComponent(db)}?sslmode=no-verify`;
}

/** rediss:// (TLS) with the ElastiCache AUTH token as password. */
export function redisUrl(token: string, host: string): string {
  return `rediss://:${encodeURIComponent(token)}@${host}:${REDIS_PORT}`;
}
