// The move steps' results as moveStatus.verification shows them (components/move/report.ts).
import { strict as assert } from "assert";
import { lastLine, stepResult } from "../../components/move/report";

describe("move: step results in the stack output", () => {
  it("a step's JSON report (its last line) becomes an object: jq .verification.cutover.ok reads true", () => {
    const out = 'pulling the export\n{"ok":true,"copy_seconds":8.9,"freeze_seconds":null}\n';
    assert.deepEqual(stepResult(out), { ok: true, copy_seconds: 8.9, freeze_seconds: null });
    assert.equal(lastLine(out), '{"ok":true,"copy_seconds":8.9,"freeze_seconds":null}');
  });
  it("text that is not a JSON object stays as printed (nothing is dropped); a step that has not run stays unknown", () => {
    assert.equal(stepResult("caddy: to 203.0.113.20\n"), "caddy: to 203.0.113.20");
    assert.equal(stepResult('["a"]'), '["a"]');
    assert.equal(stepResult("null"), "null");
    assert.equal(stepResult(""), "");
    assert.equal(stepResult(undefined), undefined);
    assert.equal(lastLine(undefined), "");
  });
});
