// The observability README section agrees with the code: budget table, alert list.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { alertRules } from "../../compose/render/observability/alerts";
import { OBSERVABILITY_BUDGET } from "../../compose/render/observability/budget";
import { observabilityInput } from "../fixtures/observability/input";

const DOC = fs.readFileSync(path.resolve(__dirname, "..", "..", "docs", "observability.md"), "utf8");

describe("observability: README section matches the renderer", () => {
  it("budget table has one row per service with the exported limits, and the right total", () => {
    let cpus = 0;
    let mem = 0;
    for (const [name, b] of Object.entries(OBSERVABILITY_BUDGET)) {
      assert.ok(DOC.includes(`| ${name} | ${b.cpus.toFixed(2)} | ${b.memoryMb} MB |`), `budget row for ${name}`);
      cpus += b.cpus;
      mem += b.memoryMb;
    }
    assert.ok(DOC.includes(`| **total** | **${cpus.toFixed(2)}** | **${mem} MB** |`), "total row");
  });

  it("every alert (acme and internal TLS variants) is documented", () => {
    for (const r of alertRules(observabilityInput()).flatMap((g) => g.rules)) {
      assert.ok(DOC.includes(`\`${r.alert}\``), r.alert);
      if (r.labels.cause) assert.ok(DOC.includes(`\`cause=${r.labels.cause}\``), `${r.alert} ${r.labels.cause}`);
    }
  });
});
