// Offline policy check, no Pulumi CLI: `npx ts-node --transpile-only policy/check.ts --stack aws [--config FILE] [--json]`.
// Runs the program under mocks (scripts/lib/program.ts, one stack per process),
// feeds every declared resource through every policy with the stack's pack
// config (default policy/config/<stack>.json) and exits 1 on a mandatory violation.
import * as fs from "fs";
import * as path from "path";
import { runProgram } from "../scripts/lib/program";
import { runPolicies } from "./lib/harness";
import { fromPlan } from "./lib/plan";
import { POLICIES } from "./policies";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const stack = arg("--stack");
  if (!stack) {
    console.error("usage: policy/check.ts --stack NAME [--config FILE] [--json]");
    process.exit(2);
  }
  const configFile = arg("--config") ?? path.join(__dirname, "config", `${stack}.json`);
  const config = fs.existsSync(configFile) ? (JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>) : {};
  const plan = await runProgram({ stack });
  const findings = runPolicies(fromPlan(plan.resources), POLICIES, config);
  if (process.argv.includes("--json")) console.log(JSON.stringify(findings, null, 2));
  else {
    for (const f of findings) console.log(`[${f.level}] ${f.policy}: ${f.resource ?? "(stack)"}: ${f.message}`);
    for (const name of new Set(findings.map((f) => f.policy))) console.log(`  fix (${name}): ${POLICIES.find((p) => p.name === name)?.remediation}`);
    console.log(`${findings.length} violation(s) in ${plan.resources.length} resources of stack ${stack}`);
  }
  process.exit(findings.some((f) => f.level === "mandatory") ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
