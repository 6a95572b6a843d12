// The RDS CA certificates every database client on AWS verifies the server with
// (sslmode=verify-full). They are public, but not in any image: the program
// fetches AWS's global bundle once, at the first deploy, on the deploy machine
// (a local command; its output is kept in the stack state and changes only when
// RDS_CA_BUNDLE_URL or the region does), keeps the root CAs of the stack's region,
// and hands them to each task as plain environment (RDS_CA_BUNDLE). A small
// entry point writes them to a file before the container's command starts;
// node-postgres and libpq read that file (sslrootcert).
import { X509Certificate } from "crypto";

/** AWS's documented bundle of every RDS root CA (all regions). */
export const RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";
/** The instance's certificate authority (aws.rds.Instance caCertIdentifier). */
export const RDS_CA_IDENTIFIER = "rds-ca-rsa2048-g1";
/** Environment variable holding the region's root CAs (PEM). */
export const RDS_CA_ENV = "RDS_CA_BUNDLE";
/** Where the app's entry point writes them: /tmp is the tasks' writable scratch volume. */
export const RDS_CA_FILE = "/tmp/rds-ca.pem";

/** Local command (deploy machine): prints the global bundle; HTTPS only, the server's certificate verified by curl. */
export function rdsCaFetchScript(): string {
  return ["set -euo pipefail", 'curl -fsS --proto "=https" --tlsv1.2 --retry 3 --max-time 60 "$RDS_CA_BUNDLE_URL"', ""].join("\n");
}

/** "RSA2048 G1" for rds-ca-rsa2048-g1. */
function rootSuffix(caIdentifier: string): string {
  const m = /^rds-ca-(rsa2048|rsa4096|ecc384)-g(\d+)$/.exec(caIdentifier);
  if (!m) throw new Error(`unknown RDS certificate authority ${caIdentifier}`);
  return `${m[1].toUpperCase()} G${m[2]}`;
}

const commonName = (subject: string) => /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1] ?? "";

/**
 * The root CAs of `region` from AWS's global bundle, as one PEM (sorted by name, so the
 * same bundle always gives the same bytes). Refuses anything that is not a bundle of
 * self-signed CA certificates, and a bundle without the root of `caIdentifier` for the
 * region (the instance's server certificate would not verify).
 */
export function regionalRdsCa(bundle: string, region: string, caIdentifier: string = RDS_CA_IDENTIFIER, now: Date = new Date()): string {
  const pems = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new Error("RDS CA bundle: no certificate in what was downloaded");
  const prefix = `Amazon RDS ${region} Root CA `;
  const kept: { cn: string; pem: string }[] = [];
  for (const pem of pems) {
    const cert = new X509Certificate(pem);
    const cn = commonName(cert.subject);
    if (!cn.startsWith(prefix)) continue;
    if (!cert.ca || cert.subject !== cert.issuer || !cert.verify(cert.publicKey)) throw new Error(`RDS CA bundle: ${cn} is not a self-signed CA certificate`);
    if (new Date(cert.validTo) <= now) continue; // expired roots verify nothing
    kept.push({ cn, pem: `${pem}\n` });
  }
  const want = `${prefix}${rootSuffix(caIdentifier)}`;
  if (!kept.some((k) => k.cn === want)) throw new Error(`RDS CA bundle: no valid "${want}" (the root of ${caIdentifier} in ${region})`);
  return kept
    .sort((a, b) => (a.cn < b.cn ? -1 : a.cn > b.cn ? 1 : 0))
    .map((k) => k.pem)
    .join("");
}

/** `?sslmode=verify-full&sslrootcert=<RDS_CA_FILE>`: what every DATABASE_URL on AWS ends with. */
export const RDS_URL_TLS = `sslmode=verify-full&sslrootcert=${encodeURIComponent(RDS_CA_FILE)}`;

/**
 * Entry point of the app containers that connect to RDS (backend, worker, migrate): write
 * the CA file, then exec the container's command unchanged ($0 "$@" is the command).
 */
export function caEntryPoint(): string[] {
  return ["sh", "-c", `printf '%s\\n' "$${RDS_CA_ENV}" > ${RDS_CA_FILE} && exec "$0" "$@"`];
}
