// One default per key: the default parseConfig applies to each key is the one Pulumi.yaml
// declares (and the docs' config table shows). parseConfig reports every default it reads;
// each example stack is parsed as its target, so every target's keys are read.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../core/config";
import { declaredConfig } from "../../core/load-config";

const ROOT = path.resolve(__dirname, "..", "..");

/** The example stack's config as the runtime hands it over: secure values replaced by a dummy, marked secret. */
function exampleStack(name: string): { raw: Record<string, string>; secrets: Set<string> } {
  const doc = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${name}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  const raw: Record<string, string> = {};
  const secrets = new Set<string>();
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    const key = k.replace(/^freshtrack:/, "");
    if (v && typeof v === "object" && "secure" in (v as object)) {
      raw[key] = "dummy-secret";
      secrets.add(key);
    } else raw[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { raw, secrets };
}

describe("config: one default per key", () => {
  const applied = new Map<string, unknown[]>();
  before(() => {
    for (const stack of ["vm", "do", "aws"]) {
      const { raw, secrets } = exampleStack(stack);
      parseConfig(raw, secrets, (key, dflt) => applied.set(key, [...(applied.get(key) ?? []), dflt]));
    }
  });

  it("every default parseConfig applies equals the default Pulumi.yaml declares", () => {
    const declared = declaredConfig();
    const differ: string[] = [];
    for (const [key, dflts] of applied) {
      for (const d of new Set(dflts.map((x) => JSON.stringify(x)))) {
        if (!(key in declared)) differ.push(`${key}: read by parseConfig but not declared`);
        else if (d !== JSON.stringify(declared[key].default)) differ.push(`${key}: parseConfig ${d}, Pulumi.yaml ${JSON.stringify(declared[key].default)}`);
      }
    }
    assert.deepEqual(differ, []);
  });

  it("every declared key is read with its default by one of the example stacks' targets", () => {
    const unread = Object.keys(declaredConfig()).filter((k) => !applied.has(k));
    assert.deepEqual(unread, []);
  });
});
