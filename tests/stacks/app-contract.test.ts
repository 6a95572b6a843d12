// The app contract on every target, from the real program under mocks: the worker and the
// backend start with the same command on Compose (vm, digitalocean) and ECS (aws), equal to
// core/app-contract.ts, and RATE_LIMIT_MAX / RATE_LIMIT_WINDOW reach every app container.
import { strict as assert } from "assert";
import { parse } from "yaml";
import { APP_CONTRACT, DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_MS } from "../../core/app-contract";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import type { PlanResult } from "../../scripts/lib/program";
import { mustPlan, ofType, one } from "../helpers/plan";

const APPS = ["backend", "worker", "migrate"] as const;
const RL = APP_CONTRACT.rateLimit;
type Runs = { command?: string[]; env: Record<string, string> };

/** What Compose runs per app service: every compose file of release.json, merged in order. */
function composeRuns(r: PlanResult): Record<string, Runs> {
  const files = copiedFiles(one(r, "command:remote:CopyToRemote", "copy-bundle").inputs.source);
  const rel = JSON.parse(files["release.json"]) as { compose_files: string[] };
  const out: Record<string, Runs> = {};
  for (const f of rel.compose_files) {
    const doc = parse(files[f]) as { services?: Record<string, { command?: string[]; environment?: Record<string, string> }> };
    for (const [n, s] of Object.entries(doc.services ?? {})) {
      const cur = (out[n] ??= { env: {} });
      if (s.command) cur.command = s.command;
      Object.assign(cur.env, s.environment ?? {});
    }
  }
  return out;
}

/** What ECS runs per app container, from the task definitions. */
function ecsRuns(r: PlanResult): Record<string, Runs> {
  const out: Record<string, Runs> = {};
  for (const name of APPS) {
    const defs = JSON.parse(one(r, "aws:ecs/taskDefinition:TaskDefinition", name).inputs.containerDefinitions as string) as {
      name: string;
      command?: string[];
      environment: { name: string; value: string }[];
    }[];
    const c = defs.find((d) => d.name === name)!;
    out[name] = { command: c.command, env: Object.fromEntries(c.environment.map((e) => [e.name, e.value])) };
  }
  return out;
}

describe("stacks: the app contract on every target", () => {
  const runs: Record<string, Record<string, Runs>> = {};
  before(() => {
    runs.vm = composeRuns(mustPlan("vm"));
    runs.digitalocean = composeRuns(mustPlan("do"));
    runs.aws = ecsRuns(mustPlan("aws"));
  });

  it("backend, worker and migrate run the same command on Compose and ECS, equal to the contract", () => {
    for (const name of APPS) {
      for (const target of ["vm", "digitalocean", "aws"]) assert.deepEqual(runs[target][name].command, [...APP_CONTRACT.commands[name]], `${target} ${name}`);
    }
    assert.deepEqual(runs.aws.worker.command, ["node", "dist/workers/index.js"], "the worker image's own command");
  });

  it(`${RL.maxEnv} and ${RL.windowEnv} are set on every target, to the configured limit`, () => {
    for (const target of ["vm", "digitalocean", "aws"]) {
      for (const name of APPS) {
        assert.equal(runs[target][name].env[RL.maxEnv], String(DEFAULT_RATE_LIMIT_MAX), `${target} ${name}`);
        assert.equal(runs[target][name].env[RL.windowEnv], String(DEFAULT_RATE_LIMIT_WINDOW_MS), `${target} ${name}`);
      }
    }
  });

  it("a configured limit reaches Compose and ECS alike", () => {
    const vm = composeRuns(mustPlan("vm", { rateLimitMax: 27000, rateLimitWindowMs: 30000 }));
    const aws = ecsRuns(mustPlan("aws", { rateLimitMax: 27000, rateLimitWindowMs: 30000 }));
    for (const r of [vm, aws])
      for (const name of ["backend", "worker"]) assert.deepEqual([r[name].env[RL.maxEnv], r[name].env[RL.windowEnv]], ["27000", "30000"], name);
  });

  it("the ALB checks the backend's readiness path of the contract", () => {
    const tgs = ofType(mustPlan("aws"), "aws:lb/targetGroup:TargetGroup");
    const backend = tgs.find((t) => t.inputs.port === APP_CONTRACT.ports.backend);
    assert.equal((backend?.inputs.healthCheck as { path?: string })?.path, APP_CONTRACT.health.ready.path);
  });
});
