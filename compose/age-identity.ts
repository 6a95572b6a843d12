// The age identity (X25519 secret key) bin/backup encrypts dumps with, derived from
// the lasting backup encryption key: no new secret to create, store or rotate, and the
// same value on every run (write-secrets stays unchanged). Format: age's
// "AGE-SECRET-KEY-1…", Bech32 (BIP 173) of 32 key bytes, upper case
// (https://age-encryption.org/v1, "The X25519 recipient type").
import { createHash } from "crypto";

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >>> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/** 8-bit bytes -> 5-bit groups, zero-padded (BIP 173 convertbits with pad). */
function toWords(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

/** Bech32 of `data` under the human-readable part `hrp` (lower case). */
export function bech32(hrp: string, data: Uint8Array): string {
  const words = toWords(data);
  const mod = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...words, ...checksum].map((w) => CHARSET[w]).join("")}`;
}

/** The age identity of a backup encryption key: sha256 over a fixed label and the key. */
export function ageIdentity(backupEncryptionKey: string): string {
  const key = createHash("sha256").update("freshtrack age identity v1\0").update(backupEncryptionKey, "utf8").digest();
  return bech32("age-secret-key-", key).toUpperCase();
}
