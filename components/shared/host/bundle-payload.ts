// The release bundle as ONE text file, so the push can copy it with
// CopyToRemote's StringAsset: @pulumi/command 1.2.x copies only FileAsset,
// StringAsset and FileArchive (AssetArchive support came later, pulumi-command
// #1222), and a FileArchive would make the copy depend on files outside state.
// Format: a header line, then `<path> <mode> <base64(content)>` per file, sorted.
// scripts/unpack-bundle.sh turns it back into APP_DIR/releases/<bundle-hash>/.

export const BUNDLE_HEADER = "freshtrack-bundle/1";
const PATH_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** Files under bin/ are commands; everything else is data. */
export function bundleFileMode(path: string): "0755" | "0644" {
  return path.startsWith("bin/") ? "0755" : "0644";
}

export function serializeBundle(files: Record<string, string>): string {
  const lines = [BUNDLE_HEADER];
  for (const p of Object.keys(files).sort()) {
    if (!PATH_RE.test(p)) throw new Error(`bundle path ${JSON.stringify(p)} is not a plain relative path`);
    lines.push(`${p} ${bundleFileMode(p)} ${Buffer.from(files[p], "utf8").toString("base64")}`);
  }
  return lines.join("\n") + "\n";
}

export function parseBundle(text: string): Record<string, string> {
  const [header, ...lines] = text.split("\n");
  if (header !== BUNDLE_HEADER) throw new Error(`not a ${BUNDLE_HEADER} payload`);
  const files: Record<string, string> = {};
  for (const line of lines) {
    if (line === "") continue;
    const [p, mode, b64, ...rest] = line.split(" ");
    if (rest.length || !PATH_RE.test(p) || !/^0[67][45][45]$/.test(mode) || b64 === undefined)
      throw new Error(`malformed bundle line for ${JSON.stringify(p)}`);
    files[p] = Buffer.from(b64, "base64").toString("utf8");
  }
  return files;
}

/**
 * The files a CopyToRemote pushes, from its plain (mocked) inputs: the bundle
 * payload of a StringAsset, or the entries of an AssetArchive. Used by the
 * offline plan (--out), the policy pack and the end-to-end harness.
 */
export function copiedFiles(source: unknown): Record<string, string> {
  const s = source as { $asset?: string; $archive?: Record<string, unknown> } | undefined;
  if (typeof s?.$asset === "string") return s.$asset.startsWith(BUNDLE_HEADER) ? parseBundle(s.$asset) : {};
  const out: Record<string, string> = {};
  const walk = (a: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(a)) {
      const e = v as { $asset?: string; $archive?: Record<string, unknown> };
      if (typeof e.$asset === "string") out[prefix + k] = e.$asset;
      else if (e.$archive) walk(e.$archive, `${prefix}${k}/`);
    }
  };
  if (s?.$archive) walk(s.$archive, "");
  return out;
}
