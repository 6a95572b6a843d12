// The whole program under mocks, one process per plan: each stack file declares
// exactly one target, no other cloud, keeps its lasting secrets across a target
// switch, and refuses bad config before declaring anything.
import { strict as assert } from "assert";
import { LASTING_SECRET_NAMES } from "../../components/shared/secrets";
import { mustPlan, plan } from "../helpers/plan";

const STACKS = { vm: "vm", do: "digitalocean", aws: "aws" } as const;
const CLOUD_PREFIXES = { vm: [] as string[], digitalocean: ["digitalocean:"], aws: ["aws:"] };
const ALL_CLOUDS = ["aws:", "digitalocean:"];

/** Config that lets the `vm` stack file run as another target. */
const SWITCH_TO: Record<string, Record<string, string | number | string[]>> = {
  digitalocean: { target: "digitalocean", doSshCidrs: ["198.51.100.7/32"] },
  aws: { target: "aws" },
};

describe("stacks: each stack file selects one target", () => {
  for (const [stack, target] of Object.entries(STACKS)) {
    it(`${stack}: exactly one freshtrack:${target}:Target and no other cloud's resources`, () => {
      const r = mustPlan(stack);
      const components = r.resources.filter((x) => /^freshtrack:[a-z]+:Target$/.test(x.type));
      assert.deepEqual(
        components.map((c) => c.type),
        [`freshtrack:${target}:Target`],
      );
      const foreign = ALL_CLOUDS.filter((p) => !CLOUD_PREFIXES[target].includes(p));
      const strays = r.resources.filter((x) => foreign.some((p) => x.type.startsWith(p)));
      assert.deepEqual(
        strays.map((s) => `${s.type} ${s.name}`),
        [],
      );
      assert.equal(r.outputs.target, target);
      assert.equal(typeof r.outputs.url, "string");
      assert.match(r.outputs.url as string, /^https:\/\//);
    });
  }
});

describe("stacks: lasting secrets survive a target switch", () => {
  const lasting = Object.values(LASTING_SECRET_NAMES);
  const identity = (stackTarget: string) => {
    const r = mustPlan("vm", SWITCH_TO[stackTarget] ?? {});
    return r.resources
      .filter((x) => lasting.includes(x.name as (typeof lasting)[number]))
      .map((x) => ({ type: x.type, name: x.name, parent: x.parent ?? null, inputs: x.inputs, protect: x.options.protect ?? false }))
      .sort((a, b) => a.name.localeCompare(b.name));
  };
  it("are all declared at program level, outside any target component", () => {
    const found = identity("vm");
    assert.deepEqual(
      found.map((f) => f.name),
      [...lasting].sort(),
    );
    // No parent => URN urn:pulumi:<stack>::freshtrack::random:...::<name>, whatever the target.
    for (const f of found) assert.equal(f.parent, null, `${f.name} is parented to ${f.parent}`);
  });
  for (const other of ["digitalocean", "aws"]) {
    it(`vm -> ${other}: same URNs (type, name, parent) and same inputs, so the same values`, () => {
      assert.deepEqual(identity(other), identity("vm"));
    });
  }
  it("the TTN salt and the backup key are protected: losing them makes data unreadable", () => {
    const byName = Object.fromEntries(identity("vm").map((f) => [f.name, f]));
    assert.equal(byName["ttn-encryption-salt"].protect, true);
    assert.equal(byName["backup-encryption-key"].protect, true);
    assert.equal(byName["ttn-encryption-salt"].inputs.keepers, undefined, "the salt must have no rotation keeper");
  });
  it("bumping dbPasswordGeneration replaces only the db password", () => {
    const a = mustPlan("vm").resources.filter((x) => lasting.includes(x.name as (typeof lasting)[number]));
    const b = mustPlan("vm", { dbPasswordGeneration: 2 }).resources.filter((x) => lasting.includes(x.name as (typeof lasting)[number]));
    const changed = a.filter((x, i) => JSON.stringify(x.inputs) !== JSON.stringify(b[i].inputs)).map((x) => x.name);
    assert.deepEqual(changed, ["db-app-password"]);
  });
});

describe("stacks: bad config stops the program before any resource", () => {
  const cases: [string, Record<string, string | number | string[]>, RegExp][] = [
    ["unknown target", { target: "gcp" }, /freshtrack:target: "gcp"/],
    ["missing domain", { domain: "" }, /freshtrack:domain: is required/],
    ["malformed email", { operatorEmail: "nobody" }, /freshtrack:operatorEmail:/],
    ["malformed hostname", { vmHost: "no such host!" }, /freshtrack:vmHost:/],
    ["image tagged latest", { backendImage: "ghcr.io/x/backend:latest" }, /freshtrack:backendImage:.*latest/],
    ["untagged image", { workerImage: "ghcr.io/x/worker" }, /freshtrack:workerImage:.*no tag/],
    ["malformed CIDR", { target: "digitalocean", doSshCidrs: ["1.2.3.4/40"] }, /freshtrack:doSshCidrs:/],
    ["size the target does not offer", { target: "digitalocean", doSshCidrs: ["1.2.3.4/32"], doDropletSize: "s-99" }, /freshtrack:doDropletSize:/],
    ["pool too large for the database", { poolSize: 90 }, /freshtrack:poolSize:.*max_connections/],
    ["unknown key (typo)", { domian: "x.example" }, /freshtrack:domian: is not a key/],
  ];
  for (const [what, set, message] of cases) {
    it(what, () => {
      const o = plan("vm", set);
      assert.equal(o.ok, false, "plan should have failed");
      assert.equal(o.status, 1);
      assert.match(o.stderr, message);
      assert.match(o.stderr, /Fix:/);
      assert.match(o.stderr, /plan: 0 resources declared/);
    });
  }
});
