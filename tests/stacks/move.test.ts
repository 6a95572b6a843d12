// Moves between targets under mocks, for every pair: each phase is planned with
// the previous phase's outputs as the stack's last deployment (what the
// program's self-reference reads), and compared by URN with the plan before it,
// as `pulumi preview` would compare the program with the state.
import { strict as assert } from "assert";
import type { PlanResult, UrnEntry } from "../../scripts/lib/program";
import { mustPlan, plan } from "../helpers/plan";

type T = "vm" | "digitalocean" | "aws";
const STACK: Record<T, string> = { vm: "vm", digitalocean: "do", aws: "aws" };
const NEW_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWHOSTNEWHOSTNEWHOSTNEWHOSTNEWHOSTNEWHOST12";
/** Settings of the new side, given alongside moveTo (vm -> vm: under the moveVm* keys). */
function destination(from: T, to: T): { set: Record<string, string | number | boolean | string[]>; secret: Record<string, string> } {
  if (to === "vm" && from === "vm")
    return { set: { moveVmHost: "203.0.113.77", moveVmHostKey: NEW_HOST_KEY }, secret: { moveVmSshPrivateKey: "NEWHOSTKEYDUMMY" } };
  // A vm side backs up off the host too: its remote is part of the new side's settings.
  if (to === "vm")
    return {
      set: {
        vmHost: "203.0.113.77",
        vmHostKey: NEW_HOST_KEY,
        vmBackupRemoteEndpoint: "https://s3.us-east-1.wasabisys.com",
        vmBackupRemoteBucket: "acme-moved-backups",
        vmBackupRemoteAccessKeyId: "MOVEDBACKUPKEY",
      },
      secret: { vmSshPrivateKey: "NEWHOSTKEYDUMMY", vmBackupRemoteSecretAccessKey: "MOVEDBACKUPSECRET" },
    };
  if (to === "digitalocean") return { set: { doSshCidrs: ["198.51.100.7/32"], doManageDns: false }, secret: {} };
  return { set: {}, secret: {} };
}

const entries = (r: PlanResult) => new Map<string, UrnEntry>(r.byUrn.map((e) => [e.urn, e]));
const underMove = (urn: string) => urn.includes("::freshtrack:move:Move$") || urn.endsWith("::freshtrack:move:Move::move");
const json = (v: unknown) => JSON.stringify(v);

/** Every resource of `before` is in `after` with the same URN, the same inputs and the same protection. */
function assertUnchanged(before: PlanResult, after: PlanResult, what: string, sameOptions = true) {
  const a = entries(after);
  for (const e of before.byUrn) {
    const x = a.get(e.urn);
    assert.ok(x, `${what}: ${e.urn} would be deleted`);
    assert.equal(json(x!.inputs), json(e.inputs), `${what}: inputs of ${e.urn} changed (update or replace)`);
    if (sameOptions) assert.equal(x!.protect, e.protect, `${what}: protection of ${e.urn} changed`);
  }
}

function phases(from: T, to: T) {
  const d = destination(from, to);
  const baseline = mustPlan(STACK[from], {}, {}, { target: from });
  // Pairs with aws: the program copies no data; the operator says they did (moveManualDataCopy) before cutover.
  const manual: Record<string, boolean> = from === "aws" || to === "aws" ? { moveManualDataCopy: true } : {};
  const step = (phase: string, previous: PlanResult) =>
    mustPlan(STACK[from], { ...d.set, moveTo: to, movePhase: phase, ...(phase === "prepare" ? {} : manual) }, d.secret, previous.outputs);
  const prepare = step("prepare", baseline);
  const cutover = step("cutover", prepare);
  const retire = step("retire", cutover);
  return { d, baseline, prepare, cutover, retire };
}

const PAIRS: [T, T][] = [
  ["vm", "vm"],
  ["vm", "digitalocean"],
  ["digitalocean", "vm"],
  ["vm", "aws"],
  ["aws", "vm"],
  ["digitalocean", "aws"],
  ["aws", "digitalocean"],
];

describe("move digitalocean -> vm: rollback after cutover (mocks)", function () {
  this.timeout(600_000);
  it("the droplet (old side) pulls the new host's data back: its firewall lets SSH out to that host during the rollback, and the copy waits for it", () => {
    const p = phases("digitalocean", "vm");
    const rb = mustPlan("do", { ...p.d.set, moveTo: "vm", movePhase: "rollback" }, p.d.secret, p.cutover.outputs);
    const sshOut = (r: PlanResult) =>
      (
        r.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall" && !x.parent?.includes("move"))?.inputs.outboundRules as {
          portRange?: string;
          destinationAddresses: string[];
        }[]
      ).filter((x) => x.portRange === "22");
    assert.deepEqual(sshOut(p.cutover), [], "no SSH out while the droplet serves");
    assert.deepEqual(
      sshOut(rb).map((x) => x.destinationAddresses),
      [["203.0.113.77/32"]],
    );
    const copyBack = rb.resources.find((r) => r.type === "command:remote:Command" && r.name === "move-copy-back")!;
    assert.ok(copyBack, "move-copy-back declared");
    assert.ok(
      (copyBack.options.dependsOn ?? []).some((u: string) => u.includes("freshtrack:digitalocean:Target")),
      "move-copy-back waits for the droplet's own update",
    );
  });
});

for (const [from, to] of PAIRS) {
  describe(`move ${from} -> ${to} (mocks)`, function () {
    this.timeout(600_000);
    let p: ReturnType<typeof phases>;
    before(() => {
      p = phases(from, to);
    });

    it("a plain target change is refused before any resource is declared", () => {
      if (from === to) return; // vm -> vm has no plain target change; the new host is only reachable through moveVm*
      const o = plan(STACK[from], { ...p.d.set, target: to }, p.d.secret, { target: from });
      assert.equal(o.ok, false);
      assert.match(o.stderr, new RegExp(`target changed from ${from} \\(deployed\\) to ${to}`));
      assert.match(o.stderr, /moveTo/);
      assert.match(o.stderr, /plan: 0 resources declared/);
    });

    it("prepare: the old side is unchanged (same URNs, inputs, protection); the new side is created under the move", () => {
      assertUnchanged(p.baseline, p.prepare, "prepare");
      const created = p.prepare.byUrn.filter((e) => !entries(p.baseline).has(e.urn));
      assert.ok(created.length > 5, `new side created (${created.length})`);
      for (const e of created) assert.ok(underMove(e.urn) || e.urn.includes("StackReference"), `created outside the move: ${e.urn}`);
      assert.ok(
        created.some((e) => e.urn.endsWith(`freshtrack:move:Move$freshtrack:${to}:Target::${STACK[from] === "do" ? "do" : STACK[from]}`)),
        "the new target component",
      );
      assert.deepEqual((p.prepare.outputs.move as { phase: string }).phase, "prepare");
      assert.equal(p.prepare.outputs.target, from, "target output stays the serving side");
    });

    if (from === "aws" || to === "aws")
      it("cutover is refused until the operator says the data was copied (the program copies none for pairs with aws)", () => {
        const o = plan(STACK[from], { ...p.d.set, moveTo: to, movePhase: "cutover" }, p.d.secret, p.prepare.outputs);
        assert.equal(o.ok, false);
        assert.match(o.stderr, /movePhase: cutover of .* would serve from an empty database/);
        assert.match(o.stderr, /moveManualDataCopy true/);
        assert.match(o.stderr, /plan: 0 resources declared/);
      });

    it("cutover: the old side is still unchanged; nothing of prepare is deleted", () => {
      assertUnchanged(p.baseline, p.cutover, "cutover");
      const c = entries(p.cutover);
      const gone = p.prepare.byUrn.filter((e) => !c.has(e.urn)).map((e) => e.urn);
      assert.deepEqual(gone, []);
      if (from !== "aws" && to !== "aws") {
        const steps = p.cutover.byUrn.filter((e) => /command:remote:Command::move-/.test(e.urn)).map((e) => e.urn.split("::").pop());
        assert.deepEqual(steps.sort(), ["move-acme", "move-authorize", "move-copy", "move-cutover", "move-forward"]);
      }
    });

    it("retire: the old side keeps its URNs and inputs; its protected resources become unprotected and retained", () => {
      assertUnchanged(p.baseline, p.retire, "retire", false);
      const r = entries(p.retire);
      const protectedOld = p.baseline.byUrn.filter((e) => e.protect && !underMove(e.urn) && !e.urn.includes("random:index/randomPassword"));
      if (from !== "vm") assert.ok(protectedOld.length > 0, "the old cloud side has protected data resources");
      for (const e of protectedOld) {
        assert.equal(r.get(e.urn)!.protect, false, `${e.urn} unprotected`);
        assert.equal(r.get(e.urn)!.retainOnDelete, true, `${e.urn} kept in the cloud when removed`);
      }
      // The lasting secrets are no side's: still protected.
      for (const e of p.retire.byUrn.filter((x) => /random:index\/randomPassword:RandomPassword::(ttn-encryption-salt|backup-encryption-key)$/.test(x.urn)))
        assert.equal(e.protect, true, e.urn);
      // The new side keeps its protection.
      for (const e of p.prepare.byUrn.filter((x) => underMove(x.urn) && x.protect)) assert.equal(r.get(e.urn)!.protect, true, e.urn);
    });
  });
}

describe("move vm -> digitalocean: finish and rollback (mocks)", function () {
  this.timeout(600_000);
  const d = destination("vm", "digitalocean");
  let p: ReturnType<typeof phases>;
  before(() => {
    p = phases("vm", "digitalocean");
  });

  it("the move's steps carry secrets only on stdin (marked secret, logging off for it), never in a command line", () => {
    const steps = p.cutover.resources.filter((r) => r.type === "command:remote:Command" && r.name.startsWith("move-"));
    assert.deepEqual(steps.map((r) => r.name).sort(), ["move-acme", "move-authorize", "move-copy", "move-cutover", "move-forward"]);
    for (const r of steps) {
      const plainText = JSON.stringify({ create: r.inputs.create, delete: r.inputs.delete, triggers: r.inputs.triggers });
      assert.doesNotMatch(plainText, /RNDSECRET|DUMMYSECRET|PRIVATE KEY/, `${r.name}: a secret in its command line`);
      assert.ok((r.inputs.connection as Record<string, unknown>).$secret, `${r.name}: connection (private key) is secret`);
    }
    for (const name of ["move-copy", "move-cutover"]) {
      const r = steps.find((x) => x.name === name)!;
      assert.match(JSON.stringify(r.inputs.stdin), /^\{"\$secret":"-----BEGIN OPENSSH PRIVATE KEY/, `${name}: the pull key arrives on stdin, as a secret`);
      assert.equal(r.inputs.logging, "stdout", `${name}: stdin and stderr not logged`);
      assert.ok(r.options.additionalSecretOutputs?.includes("stdin"), name);
    }
  });

  it("the droplet's steps log in as root (the push's login: the deploy user has no sudo); the pull is authorized from the droplet's own IPv4, the forward goes to its reserved IP", () => {
    const step = (name: string) => p.cutover.resources.find((r) => r.type === "command:remote:Command" && r.name === name)!;
    for (const name of ["move-copy", "move-cutover"]) {
      const conn = (step(name).inputs.connection as { $secret: { user: string; host: string } }).$secret;
      assert.equal(conn.user, "root", `${name} logs in as root`);
      assert.equal(conn.host, "203.0.113.20", `${name} reaches the droplet at its reserved IP`);
      assert.doesNotMatch(String(step(name).inputs.create), /^sudo /, `${name} needs no sudo`);
    }
    // The droplet's cloud firewall lets the pull out to the old host's SSH port during prepare and cutover only.
    const sshOut = (r: PlanResult) =>
      (
        r.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall")?.inputs.outboundRules as {
          portRange?: string;
          destinationAddresses: string[];
        }[]
      ).filter((x) => x.portRange === "22");
    const oldHost = "203.0.113.10"; // vmHost of Pulumi.vm.yaml
    assert.deepEqual(
      sshOut(p.prepare).map((x) => x.destinationAddresses),
      [[`${oldHost}/32`]],
    );
    assert.deepEqual(
      sshOut(p.cutover).map((x) => x.destinationAddresses),
      [[`${oldHost}/32`]],
    );
    assert.deepEqual(sshOut(p.retire), []);
    // A droplet's outbound traffic leaves from its own public IPv4, not from the reserved IP (mocks: 203.0.113.30 / .20).
    assert.match(String(step("move-authorize").inputs.create), /'--authorize' '203\.0\.113\.30' '203\.0\.113\.20'$/);
  });

  it("finish (target digitalocean, move keys removed): deletes exactly the old side and the move steps; nothing protected", () => {
    const fin = mustPlan("vm", { ...d.set, target: "digitalocean" }, d.secret, p.retire.outputs);
    const f = entries(fin);
    const aliased = (urn: string) => urn.replace("::freshtrack:move:Move$", "::");
    // The new side is the same resources, moved to the top level by the alias: same inputs, no replacement.
    for (const e of p.retire.byUrn.filter((x) => underMove(x.urn) && x.urn.includes("freshtrack:digitalocean:Target"))) {
      const x = f.get(aliased(e.urn));
      assert.ok(x, `new side resource ${e.urn} kept`);
      assert.equal(json(x!.inputs), json(e.inputs), `inputs of ${e.urn}`);
    }
    const kept = new Set(fin.byUrn.map((e) => e.urn));
    const deleted = p.retire.byUrn.filter((e) => !kept.has(e.urn) && !kept.has(aliased(e.urn)));
    for (const e of deleted) {
      assert.equal(e.protect, false, `protected resource in the delete set: ${e.urn}`);
      assert.ok(e.urn.includes("::freshtrack:vm:Target") || e.urn.includes("freshtrack:move:Move"), `unexpected delete ${e.urn}`);
    }
    assert.ok(
      deleted.some((e) => e.urn.endsWith("::teardown")),
      "the old host's teardown runs (services stop, data kept)",
    );
    assert.equal(fin.outputs.target, "digitalocean");
    assert.equal(fin.outputs.move, null);
  });

  it("rollback after cutover: the old side stays; the new side is released (unprotected, retained); data comes back first", () => {
    const rb = mustPlan("vm", { ...d.set, moveTo: "digitalocean", movePhase: "rollback" }, d.secret, p.cutover.outputs);
    assertUnchanged(p.baseline, rb, "rollback");
    const steps = rb.byUrn.filter((e) => /command:remote:Command::move-/.test(e.urn)).map((e) => e.urn.split("::").pop());
    assert.deepEqual(steps.sort(), ["move-authorize-back", "move-copy-back", "move-unforward"]);
    for (const e of rb.byUrn.filter((x) => underMove(x.urn) && x.urn.includes("digitalocean:index/databaseCluster"))) {
      assert.equal(e.protect, false);
      assert.equal(e.retainOnDelete, true);
    }
    // The old vm pulls the data back from the droplet (the only droplet here): its firewall lets SSH in from the old host, only for the rollback.
    const sshIn = (r: PlanResult) =>
      (
        r.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall")!.inputs.inboundRules as {
          portRange?: string;
          sourceAddresses: string[];
        }[]
      ).find((x) => x.portRange === "22")!.sourceAddresses;
    assert.deepEqual(sshIn(p.cutover), ["198.51.100.7/32"], "no extra source while the droplet is the new side");
    assert.deepEqual(sshIn(rb), ["198.51.100.7/32", "203.0.113.10/32"], "the old vm host (Pulumi.vm.yaml vmHost) may SSH in for the copy back");
  });
});
