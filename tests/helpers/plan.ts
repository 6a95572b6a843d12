// Runs the offline plan (scripts/plan.ts --reveal-secrets) in the pool's child
// process (plan-pool.ts: each run as a fresh process would see it) and returns
// everything it declared, secrets visible as {"$secret": v}.
// Each distinct run happens once per test process: the results are cached by arguments.
import type { PlanResult, PlannedResource } from "../../scripts/lib/program";
import { runInChild } from "./plan-pool";

const cache = new Map<string, PlanOutcome>();

export interface PlanOutcome {
  ok: boolean;
  status: number | null;
  stderr: string;
  result?: PlanResult;
}

export function plan(
  stack: string,
  set: Record<string, string | number | boolean | string[]> = {},
  secretSet: Record<string, string> = {},
  previousOutputs?: Record<string, unknown>,
): PlanOutcome {
  const args = ["--stack", stack, "--reveal-secrets"];
  if (previousOutputs) args.push("--previous-outputs", JSON.stringify(previousOutputs));
  for (const [k, v] of Object.entries(set)) args.push("--set", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(secretSet)) args.push("--set-secret", `${k}=${v}`);
  const key = JSON.stringify(args);
  const hit = cache.get(key);
  if (hit) return hit;
  const p = runInChild({ plan: args });
  const outcome: PlanOutcome = { ok: p.status === 0, status: p.status, stderr: p.stderr };
  if (p.status === 0) outcome.result = JSON.parse(p.stdout) as PlanResult;
  cache.set(key, outcome);
  return outcome;
}

export function mustPlan(
  stack: string,
  set: Record<string, string | number | boolean | string[]> = {},
  secretSet: Record<string, string> = {},
  previousOutputs?: Record<string, unknown>,
): PlanResult {
  const o = plan(stack, set, secretSet, previousOutputs);
  if (!o.ok || !o.result) throw new Error(`plan --stack ${stack} failed (${o.status}):\n${o.stderr}`);
  return o.result;
}

export function ofType(result: PlanResult, type: string): PlannedResource[] {
  return result.resources.filter((r) => r.type === type);
}

export function one(result: PlanResult, type: string, name?: string): PlannedResource {
  const found = result.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1)
    throw new Error(`expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  return found[0];
}

/** Every string in `value` that is not inside a {"$secret": ...} wrapper, with its JSON path. */
export function unmarkedStrings(value: unknown, at = "$"): { path: string; value: string }[] {
  if (typeof value === "string") return [{ path: at, value }];
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unmarkedStrings(v, `${at}[${i}]`));
  const o = value as Record<string, unknown>;
  if (Object.keys(o).length === 1 && "$secret" in o) return [];
  return Object.entries(o).flatMap(([k, v]) => unmarkedStrings(v, `${at}.${k}`));
}
