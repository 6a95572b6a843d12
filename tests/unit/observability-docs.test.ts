// docs/observability.md agrees with the code: the renderer's files, budget table, alert list.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { alertRules } from "../../compose/render/observability/alerts";
import { OBSERVABILITY_BUDGET } from "../../compose/render/observability/budget";
import { observabilityInput } from "../fixtures/observability/input";

const ROOT = path.resolve(__dirname, "..", "..");
const DOC = fs.readFileSync(path.join(ROOT, "docs", "observability.md"), "utf8");
const RENDERER_DIR = path.join(ROOT, "compose", "render", "observability");

describe("observability: docs/observability.md matches the renderer", () => {
  it("names the renderer's folder and every file in it, and the folder's index.ts lists each one", () => {
    assert.ok(DOC.includes("`compose/render/observability/`"), "renderer folder");
    const index = fs.readFileSync(path.join(RENDERER_DIR, "index.ts"), "utf8");
    for (const file of fs.readdirSync(RENDERER_DIR).filter((f) => f.endsWith(".ts"))) {
      assert.ok(DOC.includes(`\`${file}\``), `docs/observability.md does not name ${file}`);
      if (file !== "index.ts") assert.match(index, new RegExp(`^//\\s+${file.replace(".", "\\.")}\\s`, "m"), `index.ts does not list ${file}`);
    }
    for (const [, listed] of index.matchAll(/^\/\/\s+([a-z-]+\.ts)\s/gm))
      assert.ok(fs.existsSync(path.join(RENDERER_DIR, listed)), `index.ts lists ${listed}, which does not exist`);
  });

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
