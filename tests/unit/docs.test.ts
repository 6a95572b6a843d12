// The docs stay true: generated tables cannot drift from Pulumi.yaml and the cost model,
// every relative link (file and #anchor) resolves, the README fits on a screen.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { GENERATED_IN, README, configTable, docPages, renderPage } from "../../scripts/docs";
import { declaredConfig } from "../../core/load-config";

describe("docs: README stays true", () => {
  it("lists every config key of Pulumi.yaml", () => {
    const table = configTable();
    for (const key of Object.keys(declaredConfig())) assert.match(table, new RegExp(`\\| \`${key}\` \\|`));
  });
  it("every declared key has a type, a description and a default", () => {
    for (const [key, d] of Object.entries(declaredConfig())) {
      assert.ok(d.type, `${key} has no type`);
      assert.ok(d.description && d.description.length > 10, `${key} has no description`);
      assert.ok(d.default !== undefined, `${key} has no default`);
    }
  });
  it("every page's generated sections are current (run `npm run docs`)", () => {
    for (const page of docPages()) {
      const current = fs.readFileSync(page, "utf8");
      assert.equal(renderPage(current), current, `${page} is stale: run npm run docs`);
    }
  });
  it("each generated block stands where it belongs", () => {
    for (const [name, rel] of Object.entries(GENERATED_IN)) {
      const text = fs.readFileSync(path.join(ROOT, rel), "utf8");
      assert.ok(text.includes(`<!-- ${name}:start -->`) && text.includes(`<!-- ${name}:end -->`), `${rel} lost its ${name} markers`);
    }
  });
  it("the README fits on a screen (at most 200 lines)", () => {
    const lines = fs.readFileSync(README, "utf8").split("\n").length;
    assert.ok(lines <= 200, `README.md has ${lines} lines: move detail to a page under docs/`);
  });
  it("every relative link in README.md, docs/ and tests/e2e/README.md resolves, anchors included", () => {
    const broken: string[] = [];
    for (const page of docPages()) {
      const text = stripCode(fs.readFileSync(page, "utf8"));
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1];
        if (/^[a-z]+:/.test(link)) continue; // http(s), mailto
        const [file, anchor] = link.split("#");
        const target = file ? path.resolve(path.dirname(page), file) : page;
        if (!fs.existsSync(target)) {
          broken.push(`${path.relative(ROOT, page)}: ${link} (no such file)`);
          continue;
        }
        if (anchor && target.endsWith(".md") && !anchors(fs.readFileSync(target, "utf8")).has(anchor))
          broken.push(`${path.relative(ROOT, page)}: ${link} (no such heading)`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

const ROOT = path.resolve(__dirname, "..", "..");

function stripCode(md: string): string {
  return md.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "``");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of md.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const base = m[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

describe("docs: Pulumi.yaml and the parser agree", () => {
  const source = fs.readFileSync(require.resolve("../../core/config"), "utf8");
  it("every declared key is read by core/config.ts", () => {
    // Fargate sizes are read through cpuMem("awsBackend", ...) as `${prefix}Cpu` / `${prefix}Memory`.
    for (const key of Object.keys(declaredConfig()))
      assert.ok(source.includes(`"${key}"`) || source.includes(`"${key.replace(/(Cpu|Memory)$/, "")}"`), `${key} is declared but never read`);
  });
  it("every key the parser reads is declared", () => {
    const read = [...source.matchAll(/\b(?:str|int|bool|list|oneOf|required|image)\("([A-Za-z]+)"/g)].map((m) => m[1]);
    const declared = Object.keys(declaredConfig());
    assert.deepEqual(
      read.filter((k) => !declared.includes(k)),
      [],
    );
  });
});
