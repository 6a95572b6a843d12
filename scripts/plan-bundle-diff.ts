// Usage: ts-node scripts/plan-bundle-diff.ts OLD.json NEW.json
// For a change that should touch only the files of the release bundle (compose/files/…):
// proves two offline plans (`npm run plan -- --stack S --json`) differ in nothing else.
// The bundle's content hash and the release id follow from the files, so they are mapped
// old -> new; the copied payload is compared file by file. Prints the bundle files added,
// removed and changed, then "plans equal but for the bundle" or every other difference
// (exit 1).
import * as fs from "fs";
import { copiedFiles } from "../components/shared/host/bundle-payload";

interface Resource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const [oldPath, newPath] = process.argv.slice(2);
if (!oldPath || !newPath) {
  console.error("usage: ts-node scripts/plan-bundle-diff.ts OLD.json NEW.json");
  process.exit(64);
}
const load = (p: string) => JSON.parse(fs.readFileSync(p, "utf8")) as Resource[];
const oldPlan = load(oldPath);
const newPlan = load(newPath);
const copy = (plan: Resource[]) => plan.find((r) => r.type === "command:remote:CopyToRemote" && r.name === "copy-bundle");
const releaseOf = (plan: Resource[]) => {
  const d = plan.find((r) => r.type === "command:remote:Command" && r.name === "deploy");
  return (d?.inputs.triggers as string[] | undefined)?.at(-1);
};
const hashOf = (r: Resource | undefined) => /releases\/([0-9a-f]{16})\.bundle$/.exec(String(r?.inputs.remotePath))?.[1];

const oldCopy = copy(oldPlan);
const newCopy = copy(newPlan);
const problems: string[] = [];
let oldText = JSON.stringify(oldPlan);
let newText = JSON.stringify(newPlan);
if (oldCopy && newCopy) {
  const a = copiedFiles(oldCopy.inputs.source);
  const b = copiedFiles(newCopy.inputs.source);
  const added = Object.keys(b).filter((f) => !(f in a));
  const removed = Object.keys(a).filter((f) => !(f in b));
  const changed = Object.keys(a).filter((f) => f in b && a[f] !== b[f]);
  console.log(`bundle: ${Object.keys(a).length} -> ${Object.keys(b).length} files`);
  console.log(`  added:   ${added.join(" ") || "-"}`);
  console.log(`  removed: ${removed.join(" ") || "-"}`);
  console.log(`  changed: ${changed.join(" ") || "-"}`);
  // Map the values derived from the files, then blank the payload itself on both sides.
  for (const [from, to] of [
    [hashOf(oldCopy), hashOf(newCopy)],
    [releaseOf(oldPlan), releaseOf(newPlan)],
  ]) {
    if (from && to) oldText = oldText.split(from).join(to);
  }
  const blank = (text: string, payload: unknown) => text.split(JSON.stringify(payload).slice(1, -1)).join("<bundle payload>");
  oldText = blank(oldText, (oldCopy.inputs.source as { $asset: string }).$asset);
  newText = blank(newText, (newCopy.inputs.source as { $asset: string }).$asset);
} else if (oldCopy || newCopy) {
  problems.push("only one plan copies a bundle");
}
const o = JSON.parse(oldText) as Resource[];
const n = JSON.parse(newText) as Resource[];
if (o.length !== n.length) problems.push(`resource count ${o.length} -> ${n.length}`);
for (let i = 0; i < Math.min(o.length, n.length); i++) {
  const x = JSON.stringify(o[i]);
  const y = JSON.stringify(n[i]);
  if (x !== y) problems.push(`${n[i].type}::${n[i].name}: ${x.length > 300 ? x.slice(0, 300) + "…" : x}\n  -> ${y.length > 300 ? y.slice(0, 300) + "…" : y}`);
}
if (problems.length) {
  console.log(problems.join("\n"));
  process.exit(1);
}
console.log(`plans equal but for the bundle (${n.length} resources; bundle hash and release id mapped old -> new)`);
