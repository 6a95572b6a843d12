// Offline plan: `npm run plan -- --stack vm [--json] [--out DIR]`.
// Runs the real program under Pulumi's mock runtime with the stack file's config
// (secure values replaced by dummies) and prints every resource it declares,
// secrets masked. `--out DIR` writes the files the program would push to a host.
import * as fs from "fs";
import * as path from "path";
import { PlanResult, maskSecrets, runProgram } from "./lib/program";
import { copiedFiles } from "../components/shared/host/bundle-payload";

interface Args {
  stack?: string;
  json: boolean;
  out?: string;
  set: Record<string, string>;
  secretSet: string[];
  reveal: boolean;
  previous?: Record<string, unknown>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, set: {}, secretSet: [], reveal: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === "--stack" || arg === "-s") a.stack = next();
    else if (arg === "--json") a.json = true;
    else if (arg === "--out") a.out = next();
    else if (arg === "--previous-outputs")
      a.previous = JSON.parse(next()) as Record<string, unknown>; // the last deployment's stack outputs (JSON), as the self-reference reads them
    else if (arg === "--reveal-secrets")
      a.reveal = true; // tests only: secret values stay visible as {"$secret": ...}
    else if (arg === "--set" || arg === "--set-secret") {
      const kv = next();
      const eq = kv.indexOf("=");
      if (eq < 1) usage(`${arg} takes KEY=VALUE`);
      a.set[kv.slice(0, eq)] = kv.slice(eq + 1);
      if (arg === "--set-secret") a.secretSet.push(kv.slice(0, eq));
    } else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown argument ${arg}`);
  }
  if (!a.stack) usage("--stack is required");
  return a;
}

function usage(problem?: string): never {
  const text = `usage: npm run plan -- --stack NAME [--json] [--out DIR] [--set KEY=VALUE] [--set-secret KEY=VALUE] [--previous-outputs JSON]
  Declares the stack's resources under Pulumi's mock runtime (no cloud, no credentials)
  and prints them with secrets masked. --out DIR writes the bundle pushed to the host.
  --previous-outputs JSON stands in for the stack's last deployment (default: never deployed).`;
  if (problem) {
    console.error(`plan: ${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

/** Files the program copies to a host: the bundle payload (or archive) of every CopyToRemote. */
export function pushedFiles(plan: PlanResult): Record<string, string> {
  const files: Record<string, string> = {};
  for (const r of plan.resources) {
    if (r.type !== "command:remote:CopyToRemote") continue;
    Object.assign(files, copiedFiles(r.inputs.source));
  }
  return files;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let plan: PlanResult;
  try {
    plan = await runProgram({ stack: args.stack!, set: args.set, secretSet: args.secretSet, previousOutputs: args.previous });
  } catch (e) {
    const err = e as Error & { declaredResources?: number };
    console.error(err.message);
    if (err.declaredResources !== undefined) console.error(`plan: ${err.declaredResources} resources declared`);
    process.exit(1);
  }
  const shown = args.reveal ? plan : (maskSecrets(plan) as PlanResult);
  if (args.out) {
    const files = pushedFiles(plan);
    for (const [name, content] of Object.entries(files)) {
      const dest = path.join(args.out, name);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, content, { mode: name.startsWith("bin/") ? 0o755 : 0o644 });
    }
    console.error(`plan: wrote ${Object.keys(files).length} files to ${args.out}`);
  }
  if (args.reveal) {
    // Test interface: the whole result, secrets visible as {"$secret": value}.
    console.log(JSON.stringify(plan));
    return;
  }
  if (args.json) {
    console.log(
      JSON.stringify(
        shown.resources.map(({ type, name, parent, inputs, options }) => ({ type, name, parent, inputs, options })),
        null,
        2,
      ),
    );
    return;
  }
  console.log(`Stack ${plan.stack}: ${plan.resources.length} resources`);
  for (const r of shown.resources) {
    console.log(`\n+ ${r.type}  ${r.name}${r.parent ? `  (parent ${r.parent})` : ""}${Object.keys(r.options).length ? `  ${JSON.stringify(r.options)}` : ""}`);
    for (const [k, v] of Object.entries(r.inputs)) {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      console.log(`    ${k}: ${text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text}`);
    }
  }
  console.log("\nOutputs:");
  for (const [k, v] of Object.entries(shown.outputs)) console.log(`    ${k}: ${JSON.stringify(v)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
