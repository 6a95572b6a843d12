// The pooled child (tests/helpers/plan-child.js) runs program after program in one
// process. Each must come out exactly as in a fresh process: the whole JSON plan byte
// for byte, the same exit status and message, whatever ran before it in the same
// child, failures included. The fresh processes are what `npm run plan` runs (plain
// ts-node) for vm and for a refused config, and the pool's own loader for the rest.
import { strict as assert } from "assert";
import { Request, RunOutcome, runInChild, startFresh } from "../helpers/plan-pool";

const planOf = (stack: string, ...args: string[]): Request => ({ plan: ["--stack", stack, "--reveal-secrets", ...args] });

const PROGRAMS: Record<string, Request> = {
  vm: planOf("vm"),
  do: planOf("do"),
  aws: planOf("aws"),
  // The vm stack file run as another target (config the program reads differently).
  "vm stack as aws": planOf("vm", "--set", "target=aws"),
};
const REFUSED = planOf("do", "--set", "domian=x.example");
const TS_NODE = new Set(["vm", "refused"]);

// Started as the file loads: the fresh processes run while the tests before them do.
const fresh = Object.fromEntries(
  [...Object.entries(PROGRAMS), ["refused", REFUSED] as const].map(([k, r]) => [k, startFresh(r, TS_NODE.has(k) ? "ts-node" : "ts-cache")]),
);
const freshOutcome = new Map<string, RunOutcome>();
function freshRun(name: string): RunOutcome {
  if (!freshOutcome.has(name)) freshOutcome.set(name, fresh[name].wait());
  const o = freshOutcome.get(name)!;
  assert.equal(o.child, undefined, "a process of its own");
  return o;
}

/** A program whose mocked provider fails while resources are registering: it throws half-way. */
const THROWS_HALF_WAY = `
  const { runProgram } = require("./scripts/lib/program");
  runProgram({ stack: "aws", outputsFor: (type) => { if (type.startsWith("aws:rds/")) throw new Error("mock provider down"); } })
    .then(() => process.exit(0), (e) => { console.error(String(e && e.message)); process.exit(1); });`;
/**
 * A program that exits half-way and leaves work behind: an environment variable, an
 * exit code, and a timer that keeps declaring resources and printing for half a second
 * after the exit (into the next run, if runs shared the SDK's state or their output).
 */
const EXITS_HALF_WAY = `
  process.env.FT_LEFT_BEHIND = "x";
  process.exitCode = 5;
  const pulumi = require("@pulumi/pulumi");
  const { runProgram } = require("./scripts/lib/program");
  runProgram({ stack: "do", outputsFor: (type) => {
    if (!type.startsWith("digitalocean:index/droplet")) return;
    let n = 0;
    const t = setInterval(() => {
      new pulumi.CustomResource("freshtrack:test:Stray", "stray-" + ++n, {});
      console.log("late output");
      if (n === 50) clearInterval(t);
    }, 10);
    process.exit(3);
  } });`;
/** What a fresh process would see: none of the above. */
const PROBE = `console.log(JSON.stringify({ env: process.env.FT_LEFT_BEHIND ?? null, exitCode: process.exitCode ?? null }));`;

describe("test harness: the plan pool runs each program as a fresh process would", function () {
  this.timeout(600_000);

  it("vm, do, aws and the vm stack as aws: the same JSON plan byte for byte, status 0, in one child after the others", () => {
    const names = Object.keys(PROGRAMS);
    // Every program twice, the second round in reverse: each one after all the others (and itself).
    const order = [...names, ...[...names].reverse()];
    const pids = new Set<number>();
    for (const [i, name] of order.entries()) {
      const pooled = runInChild(PROGRAMS[name]);
      const plain = freshRun(name);
      assert.equal(pooled.status, 0, pooled.stderr);
      assert.equal(plain.status, 0, plain.stderr);
      assert.ok(pooled.stdout.length > 100_000, "the whole plan came back");
      if (i >= names.length) assert.ok(pooled.child!.runsBefore >= names.length, `${name}: reused after the others`);
      pids.add(pooled.child!.pid);
      assert.ok(pooled.stdout === plain.stdout, `${name} (run ${i + 1} in the child): the plan differs from a fresh process's`);
    }
    assert.equal(pids.size, 1, "one child ran them all");
  });

  it("a refused config: the same status and message as plain ts-node, nothing on stdout", () => {
    const pooled = runInChild(REFUSED);
    const plain = freshRun("refused");
    assert.equal(pooled.status, 1);
    assert.equal(plain.status, 1);
    assert.match(pooled.stderr, /freshtrack:domian: is not a key this program reads/);
    assert.equal(pooled.stderr, plain.stderr);
    assert.equal(pooled.stdout, "");
  });

  it("a script: runs from the repository root with the given environment, exit code kept", () => {
    const out = runInChild({
      script: `console.log(process.env.FT_POOL_PROBE, require("./package.json").name); process.exit(3);`,
      env: { FT_POOL_PROBE: "probe-42" },
    });
    assert.equal(out.status, 3);
    assert.equal(out.stdout, "probe-42 freshtrack-deploy\n");
  });

  it("a program that throws, exits half-way or leaves work behind does not poison the next run in the same child", () => {
    const refused = runInChild(REFUSED);
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr, freshRun("refused").stderr);

    const thrown = runInChild({ script: THROWS_HALF_WAY });
    assert.equal(thrown.status, 1, thrown.stderr);
    assert.match(thrown.stderr, /mock provider down/);

    const crashed = runInChild({ script: `setTimeout(() => { throw new Error("uncaught in a timer"); }, 5);` });
    assert.equal(crashed.status, 1, "as Node exits on an uncaught error");
    assert.match(crashed.stderr, /uncaught in a timer/);

    const exited = runInChild({ script: EXITS_HALF_WAY });
    assert.equal(exited.status, 3, exited.stderr);
    assert.equal(exited.stdout, "", "nothing printed after its exit");

    // Straight after it (the timer it left is still running), as the next request.
    const after = runInChild(PROGRAMS.vm);
    assert.equal(after.status, 0, after.stderr);
    assert.equal(after.child!.pid, refused.child!.pid, "the same child");
    assert.equal(after.child!.runsBefore, refused.child!.runsBefore + 4);
    assert.ok(!after.stdout.includes("late output") && !after.stdout.includes("Stray"), "what the half-done program left behind reached the next run");
    assert.ok(after.stdout === freshRun("vm").stdout, "the plan after the failures differs from a fresh process's");

    const probe = runInChild({ script: PROBE });
    assert.equal(probe.status, 0, probe.stderr);
    assert.deepEqual(JSON.parse(probe.stdout), { env: null, exitCode: null });
  });
});
