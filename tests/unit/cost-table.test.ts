// The committed README targets table (docs/cost-table.md) is what the generator
// prints for the example stacks today, and every resource they declare is priced
// or explicitly free/usage-based. The estimates come from the example stacks' plans,
// as `estimateInChild` computes them (estimate() over the resources runProgram declares);
// the plans are the ones the stack tests run (tests/helpers/plan.ts), so no extra run.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadPrices, renderCostTable, TARGET_STACKS } from "../../scripts/cost";
import { estimate, type Estimate } from "../../scripts/lib/cost";
import { mustPlan } from "../helpers/plan";

const ROOT = path.resolve(__dirname, "..", "..");

describe("cost table (docs/cost-table.md)", function () {
  this.timeout(600000);
  const estimates: Record<string, Estimate> = {};

  before(() => {
    for (const t of TARGET_STACKS) estimates[t.target] = estimate(mustPlan(t.stack).resources, loadPrices());
  });

  for (const t of TARGET_STACKS) {
    it(`${t.stack}: every declared resource is priced, usage-based or listed as free`, () => {
      assert.deepEqual(
        estimates[t.target].notPriced.map((l) => `${l.type} ${l.name}: ${l.basis}`),
        [],
      );
    });
  }

  it("docs/cost-table.md is exactly what `npm run cost -- --readme-table` prints (regenerate it when this fails)", () => {
    const committed = fs.readFileSync(path.join(ROOT, "docs", "cost-table.md"), "utf8");
    assert.equal(committed, renderCostTable(estimates, loadPrices()));
  });

  it("the README's cost-table block is docs/cost-table.md", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const m = /<!-- cost-table:start -->\n([\s\S]*?)<!-- cost-table:end -->/.exec(readme);
    assert.ok(m, "README.md lost its cost-table markers");
    assert.equal(m[1], fs.readFileSync(path.join(ROOT, "docs", "cost-table.md"), "utf8"));
  });
});
