// The pool of pre-warmed children (tests/helpers/plan-pool.ts) answers exactly as
// a fresh `node -r ts-node/register/transpile-only scripts/plan.ts` process does:
// same stdout byte for byte, same exit status, same stderr for a refused config.
import { strict as assert } from "assert";
import { runInChild, runPlain } from "../helpers/plan-pool";

describe("test harness: the plan pool is a fresh process", function () {
  this.timeout(600_000);

  it("a full plan: the same bytes on stdout, status 0", () => {
    const request = { plan: ["--stack", "vm", "--reveal-secrets", "--set", "dbPasswordGeneration=3"] };
    const pooled = runInChild(request);
    const plain = runPlain(request);
    assert.equal(pooled.status, 0, pooled.stderr);
    assert.equal(plain.status, 0, plain.stderr);
    assert.ok(pooled.stdout.length > 100_000, "the whole plan came back");
    assert.equal(pooled.stdout, plain.stdout);
  });

  it("a refused config: the same status and message, nothing on stdout", () => {
    const request = { plan: ["--stack", "do", "--reveal-secrets", "--set", "domian=x.example"] };
    const pooled = runInChild(request);
    const plain = runPlain(request);
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
});
