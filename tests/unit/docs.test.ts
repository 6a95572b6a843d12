// README's config table (and cost table) are generated: they cannot drift from Pulumi.yaml.
import { strict as assert } from "assert";
import * as fs from "fs";
import { README, configTable, renderReadme } from "../../scripts/docs";
import { declaredConfig } from "../../components/shared/load-config";

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
  it("README.md's generated sections are current (run `npm run docs`)", () => {
    const current = fs.readFileSync(README, "utf8");
    assert.equal(renderReadme(current), current);
  });
});

describe("docs: Pulumi.yaml and the parser agree", () => {
  const source = fs.readFileSync(require.resolve("../../components/shared/config"), "utf8");
  it("every declared key is read by components/shared/config.ts", () => {
    // Fargate sizes are read through cpuMem("awsBackend", ...) as `${prefix}Cpu` / `${prefix}Memory`.
    for (const key of Object.keys(declaredConfig())) assert.ok(source.includes(`"${key}"`) || source.includes(`"${key.replace(/(Cpu|Memory)$/, "")}"`), `${key} is declared but never read`);
  });
  it("every key the parser reads is declared", () => {
    const read = [...source.matchAll(/\b(?:str|int|bool|list|oneOf|required|image)\("([A-Za-z]+)"/g)].map((m) => m[1]);
    const declared = Object.keys(declaredConfig());
    assert.deepEqual(read.filter((k) => !declared.includes(k)), []);
  });
});
