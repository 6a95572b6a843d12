// Keeps README.md's generated parts in sync: `npm run docs` rewrites them,
// tests/unit/docs.test.ts fails when they drift.
import * as fs from "fs";
import * as path from "path";
import { declaredConfig } from "../components/shared/load-config";
import { USER_SECRET_KEYS } from "../components/shared/config";

export const README = path.resolve(__dirname, "..", "README.md");

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

/** `<!-- include:PATH:start -->…<!-- include:PATH:end -->`: the section file at PATH (relative to the repo), verbatim. */
const INCLUDE_RE = /(<!-- include:([A-Za-z0-9_./-]+):start -->)[\s\S]*?(<!-- include:\2:end -->)/g;

export function renderReadme(current: string): string {
  let out = current.replace(INCLUDE_RE, (_m, a: string, rel: string, b: string) => {
    const file = path.resolve(__dirname, "..", rel);
    if (!fs.existsSync(file)) throw new Error(`README.md includes ${rel}, which does not exist`);
    return `${a}\n${fs.readFileSync(file, "utf8").trim()}\n${b}`;
  });
  for (const [name, content] of Object.entries(generatedSections())) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> / <!-- ${name}:end --> markers`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}\n${content}\n${b}`);
  }
  return out;
}

if (require.main === module) {
  const before = fs.readFileSync(README, "utf8");
  const after = renderReadme(before);
  if (after !== before) fs.writeFileSync(README, after);
  console.log(after === before ? "README.md is up to date" : "README.md updated");
}
