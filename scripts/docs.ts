// Keeps the generated parts of README.md and docs/*.md in sync: `npm run docs`
// rewrites them, tests/unit/docs.test.ts fails when they drift.
import * as fs from "fs";
import * as path from "path";
import { declaredConfig } from "../core/load-config";
import { USER_SECRET_KEYS } from "../core/config";

const ROOT = path.resolve(__dirname, "..");
export const README = path.join(ROOT, "README.md");

/** README.md, every page under docs/ and the e2e's own page: what `npm run docs` keeps current. */
export function docPages(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => path.join(ROOT, "docs", f));
  return [README, ...docs, path.join(ROOT, "tests", "e2e", "README.md")];
}

/** Markdown table of every key in Pulumi.yaml, in file order. */
export function configTable(): string {
  const rows = Object.entries(declaredConfig()).map(([key, d]) => {
    const dflt = d.default === undefined ? "(required)" : JSON.stringify(d.default);
    const secret = (USER_SECRET_KEYS as readonly string[]).includes(key) ? " **secret**" : "";
    const desc = (d.description ?? "").replace(/\|/g, "\\|");
    return `| \`${key}\` | ${d.type}${secret} | \`${dflt}\` | ${desc} |`;
  });
  return ["| key (`freshtrack:`) | type | default | what it does |", "|---|---|---|---|", ...rows].join("\n");
}

/** Generated sections: marker name -> content. */
export function generatedSections(): Record<string, string> {
  const sections: Record<string, string> = { "config-table": configTable() };
  const costTable = path.resolve(__dirname, "..", "docs", "cost-table.md");
  if (fs.existsSync(costTable)) sections["cost-table"] = fs.readFileSync(costTable, "utf8").trim();
  return sections;
}

/** A page with every `<!-- NAME:start -->…<!-- NAME:end -->` block it holds filled in. */
export function renderPage(current: string): string {
  let out = current;
  for (const [name, content] of Object.entries(generatedSections())) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}\n${content}\n${b}`);
  }
  return out;
}

/** Where each generated block must stand (a page that loses its markers fails the docs test). */
export const GENERATED_IN: Record<string, string> = { "config-table": "docs/configuration.md", "cost-table": "README.md" };

if (require.main === module) {
  for (const page of docPages()) {
    const before = fs.readFileSync(page, "utf8");
    const after = renderPage(before);
    if (after !== before) fs.writeFileSync(page, after);
    console.log(`${path.relative(ROOT, page)}: ${after === before ? "up to date" : "updated"}`);
  }
}
