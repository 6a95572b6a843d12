// Small readers over normalized props. Every reader treats an UNKNOWN (a value
// only known after `up`) as "present, cannot judge": policies never fail a
// preview on a value that does not exist yet; they run again at `up` time with
// the real inputs.

/** Marker for a value Pulumi cannot know during preview. */
export const UNKNOWN = Object.freeze({ $unknown: true as const });
export type Unknown = typeof UNKNOWN;

export function isUnknown(v: unknown): v is Unknown {
  if (v === UNKNOWN) return true;
  if (v === null || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  // The offline plan writes computed values as {"__pulumiUnknown": true}.
  return o.$unknown === true || o.__pulumiUnknown === true;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !isUnknown(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asRecord(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

/** A string value, UNKNOWN, or undefined for anything else. */
export function str(v: unknown): string | Unknown | undefined {
  if (typeof v === "string") return v;
  if (isUnknown(v)) return UNKNOWN;
  return undefined;
}

export function num(v: unknown): number | Unknown | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  if (isUnknown(v)) return UNKNOWN;
  return undefined;
}

/** Text of a {"$asset": text} entry (assets are normalized before policies see them). */
export function assetText(v: unknown): string | undefined {
  const o = asRecord(v);
  return typeof o.$asset === "string" ? o.$asset : undefined;
}

/** Header of the single-file bundle payload (components/shared/host/bundle-payload.ts): `<path> <mode> <base64>` lines follow. */
export const BUNDLE_PAYLOAD_HEADER = "freshtrack-bundle/1";

/** Files of a bundle payload text; throws on a malformed one. */
export function payloadFiles(text: string): Record<string, string> {
  const [header, ...lines] = text.split("\n");
  if (header !== BUNDLE_PAYLOAD_HEADER) throw new Error(`not a ${BUNDLE_PAYLOAD_HEADER} payload`);
  const out: Record<string, string> = {};
  for (const line of lines) {
    if (line === "") continue;
    const [path, mode, b64, ...rest] = line.split(" ");
    if (rest.length || !mode || b64 === undefined) throw new Error(`malformed bundle line for ${JSON.stringify(path)}`);
    out[path] = Buffer.from(b64, "base64").toString("utf8");
  }
  return out;
}

/**
 * Files a copy pushes: the entries of a {"$archive": {...}} (nested archives flattened
 * with their path prefix), or the files inside a {"$asset": "<bundle payload>"}.
 */
export function archiveFiles(v: unknown, prefix = ""): Record<string, string> {
  const o = asRecord(v);
  const out: Record<string, string> = {};
  if (typeof o.$asset === "string" && o.$asset.startsWith(`${BUNDLE_PAYLOAD_HEADER}\n`)) {
    for (const [name, text] of Object.entries(payloadFiles(o.$asset))) out[prefix + name] = text;
    return out;
  }
  if (isRecord(o.$archive)) {
    for (const [name, entry] of Object.entries(o.$archive)) {
      const text = assetText(entry);
      if (text !== undefined) out[prefix + name] = text;
      else Object.assign(out, archiveFiles(entry, `${prefix}${name}/`));
    }
  }
  return out;
}
