// Regular files under a directory, at their paths relative to it ("a/b.txt"), in directory order.
import * as fs from "fs";
import * as path from "path";

/** A missing directory lists nothing. */
export function listFiles(dir: string, rel = ""): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}
