// Which config changes the deployed state allows: a plain target change is
// refused with the way to move; a move advances one phase per `pulumi up`.
import { strict as assert } from "assert";
import { FreshtrackConfig, MovePhase, Target } from "../../core/config";
import { DeployedState, deployedStateOf, moveStateOf, refusal } from "../../components/move/state";
import { DeployedWith } from "../../core/deployed-with";
import { dnsInstructions, releaseOptions, stepsFor } from "../../components/move/plan";

const cfg = (target: Target, move?: { to: Target; phase: MovePhase; manualDataCopy?: boolean }, tlsMode = "acme"): FreshtrackConfig =>
  ({
    target,
    app: { tlsMode },
    data: {},
    secretsSet: [],
    ...(move ? { move: { manualDataCopy: false, ...move, purge: false, dnsTtl: 60, previousDnsTtl: 3600 } } : {}),
  }) as unknown as FreshtrackConfig;
/** What this run deploys with, and what the last deployment (at) recorded: the same unless a test says otherwise. */
const NOW: DeployedWith = { program: "p1", config: { target: "t1", app: "a1", data: "d1" }, secrets: { ttnApiKey: "s1" } };
const at = (target: Target, move?: DeployedState["move"]): DeployedState => ({ target, move, with: NOW });

describe("move state: what the deployed stack allows", () => {
  it("refuses a plain target change on a deployed stack, saying how to move", () => {
    const why = refusal(at("vm"), cfg("digitalocean"), NOW);
    assert.ok(why, "refused");
    assert.match(why!, /target changed from vm \(deployed\) to digitalocean/);
    assert.match(why!, /pulumi config set target vm/);
    assert.match(why!, /moveTo digitalocean/);
  });
  it("allows any target on a stack that was never deployed, and an unchanged target", () => {
    assert.equal(refusal({}, cfg("aws"), NOW), undefined);
    assert.equal(refusal(at("aws"), cfg("aws"), NOW), undefined);
  });
  it("refuses a move on a stack that was never deployed", () => {
    assert.match(refusal({}, cfg("vm", { to: "aws", phase: "prepare" }), NOW)!, /never been deployed/);
  });
  it("advances one phase per up: prepare -> cutover -> retire, rollback from prepare or cutover", () => {
    const m = (phase: MovePhase) => ({ from: "vm" as Target, to: "aws" as Target, phase });
    assert.equal(refusal(at("vm"), cfg("vm", { to: "aws", phase: "prepare" }), NOW), undefined);
    assert.match(refusal(at("vm"), cfg("vm", { to: "aws", phase: "cutover" }), NOW)!, /cannot follow no move.*movePhase prepare/);
    assert.equal(refusal(at("vm", m("prepare")), cfg("vm", { to: "aws", phase: "cutover" }), NOW), undefined);
    assert.match(refusal(at("vm", m("prepare")), cfg("vm", { to: "aws", phase: "retire" }), NOW)!, /movePhase cutover/);
    assert.equal(refusal(at("vm", m("cutover")), cfg("vm", { to: "aws", phase: "retire" }), NOW), undefined);
    assert.equal(refusal(at("vm", m("cutover")), cfg("vm", { to: "aws", phase: "rollback" }), NOW), undefined);
    assert.match(refusal(at("vm", m("retire")), cfg("vm", { to: "aws", phase: "rollback" }), NOW)!, /cannot follow retire/);
  });
  it("a rollback after a cutover copies back by itself, except onto aws with tlsMode internal: refused until the operator copied the data back", () => {
    const cut = { from: "vm" as Target, to: "aws" as Target, phase: "cutover" as MovePhase, cutoverDone: true };
    // Onto aws: the aws side's export task and the old host's import copy it back.
    assert.equal(refusal(at("vm", cut), cfg("vm", { to: "aws", phase: "rollback" }), NOW), undefined);
    assert.equal(refusal(at("digitalocean", { ...cut, from: "digitalocean" }), cfg("digitalocean", { to: "aws", phase: "rollback" }), NOW), undefined);
    // ... unless the load balancer's forwarder could not verify the old host (internal CA).
    assert.match(refusal(at("vm", cut), cfg("vm", { to: "aws", phase: "rollback" }, "internal"), NOW)!, /old data.*tlsMode internal.*moveManualDataCopy true/);
    assert.equal(refusal(at("vm", cut), cfg("vm", { to: "aws", phase: "rollback", manualDataCopy: true }, "internal"), NOW), undefined);
    // Off aws: the new host pushes its writes back, aws's import task restores them.
    const off = { from: "aws" as Target, to: "vm" as Target, phase: "cutover" as MovePhase, cutoverDone: true };
    assert.equal(refusal(at("aws", off), cfg("aws", { to: "vm", phase: "rollback" }), NOW), undefined);
    assert.equal(refusal(at("aws", off), cfg("aws", { to: "vm", phase: "rollback", manualDataCopy: true }), NOW), undefined);
    // Before the cutover nothing was written on aws: nothing to copy back.
    assert.equal(refusal(at("vm", { ...cut, phase: "prepare", cutoverDone: false }), cfg("vm", { to: "aws", phase: "rollback" }), NOW), undefined);
    // Between two hosts the rollback copies the data back itself.
    assert.equal(refusal(at("vm", { ...cut, to: "digitalocean" }), cfg("vm", { to: "digitalocean", phase: "rollback" }), NOW), undefined);
  });
  it("during a move target names the old side; switching it or the destination is refused", () => {
    const m = { from: "vm" as Target, to: "aws" as Target, phase: "prepare" as MovePhase };
    assert.match(refusal(at("vm", m), cfg("aws", { to: "aws", phase: "cutover" }), NOW)!, /target names the old side/);
    assert.match(refusal(at("vm", m), cfg("vm", { to: "digitalocean", phase: "prepare" }), NOW)!, /a move to aws is in phase prepare/);
  });
  it("dropping the move keys mid-move is refused (it would delete the new side); after rollback it is allowed", () => {
    assert.match(refusal(at("vm", { from: "vm", to: "aws", phase: "cutover" }), cfg("vm"), NOW)!, /movePhase rollback/);
    assert.equal(refusal(at("vm", { from: "vm", to: "aws", phase: "rollback" }), cfg("vm"), NOW), undefined);
  });
  it("finishing a retired move: target set to the new side is allowed, to any other is not", () => {
    const retired = at("vm", { from: "vm", to: "aws", phase: "retire" });
    assert.equal(refusal(retired, cfg("aws"), NOW), undefined);
    assert.ok(refusal(retired, cfg("digitalocean"), NOW));
  });
  it("reads the outputs of stacks deployed before these outputs existed", () => {
    assert.deepEqual(deployedStateOf({}), { target: undefined, move: undefined });
    assert.deepEqual(deployedStateOf({ target: "vm", move: null }), { target: "vm", move: undefined });
    assert.deepEqual(deployedStateOf({ target: "nonsense" }), { target: undefined, move: undefined });
  });
  it("reads back the program, config and secrets' digests the last deployment ran with; a malformed record is none", () => {
    const { secrets, ...unmarked } = NOW;
    assert.deepEqual(deployedStateOf({ target: "vm", deployedWith: unmarked, deployedSecrets: secrets }).with, NOW);
    assert.deepEqual(deployedStateOf({ target: "vm", deployedWith: unmarked, deployedSecrets: {} }).with, { ...unmarked, secrets: {} });
    assert.deepEqual(deployedStateOf({ target: "vm", deployedWith: unmarked }).with, unmarked, "deployed before deployedSecrets existed");
    assert.deepEqual(deployedStateOf({ target: "vm", deployedWith: unmarked, deployedSecrets: { ttnApiKey: 1 } }).with, unmarked);
    assert.equal(deployedStateOf({ target: "vm", deployedWith: { program: 1, config: {} } }).with, undefined);
    assert.equal(deployedStateOf({ target: "vm", deployedWith: { program: "p1" } }).with, undefined);
  });
  it("a move starts only on what the stack was last deployed with: same program, same config besides the move keys, same secrets", () => {
    const start = cfg("vm", { to: "digitalocean", phase: "prepare" });
    const rolledBack = at("vm", { from: "vm", to: "digitalocean", phase: "rollback" });
    for (const deployed of [at("vm"), rolledBack]) {
      assert.equal(refusal(deployed, start, NOW), undefined);
      const older = refusal({ ...deployed, with: undefined }, start, NOW);
      assert.match(older!, /did not \(an older program deployed it\)/);
      assert.match(older!, /pulumi config rm moveTo and every other move\* key you set, pulumi up/);
      assert.match(refusal(deployed, start, { ...NOW, program: "p2" })!, /this program differs from the one that last deployed the stack/);
      const changed = refusal(deployed, start, { ...NOW, config: { ...NOW.config, app: "a2", vm: "v1" } });
      assert.match(changed!, /config other than the move keys changed since the last deployment \(app, vm settings\)/);
      // A secret given another value, set or removed with the move keys: the serving side's deploy would run in the prepare.
      const variants: Record<string, string>[] = [{ ttnApiKey: "s2" }, { ttnApiKey: "s1", stripeSecretKey: "s3" }, {}];
      for (const secrets of variants) {
        const why = refusal(deployed, start, { ...NOW, secrets });
        assert.match(why!, /secrets changed since the last deployment \((ttnApiKey|stripeSecretKey): set, removed or given another value\)/);
        assert.ok(!why!.includes("s2") && !why!.includes("s3"), "names the key, never a digest");
      }
      // Deployed by the program before secrets were recorded: as an older program.
      assert.match(refusal({ ...deployed, with: { program: NOW.program, config: NOW.config } }, start, NOW)!, /an older program deployed it/);
    }
    // Once the move runs, each phase may run with another program (docs/move.md): only its start is held to the last deployment.
    const prepared = at("vm", { from: "vm", to: "digitalocean", phase: "prepare" });
    assert.equal(refusal(prepared, start, { ...NOW, program: "p2" }), undefined);
    assert.equal(refusal(prepared, cfg("vm", { to: "digitalocean", phase: "cutover" }), { ...NOW, program: "p2" }), undefined);
    // No move: any program, any config.
    assert.equal(refusal({ ...at("vm"), with: undefined }, cfg("vm"), { ...NOW, program: "p2" }), undefined);
  });
  it("carries 'cutover done' into rollback, so a rollback copies the new side's writes back", () => {
    const s = moveStateOf(cfg("vm", { to: "aws", phase: "rollback" }), { from: "vm", to: "aws", phase: "cutover", cutoverDone: true });
    assert.equal(s!.cutoverDone, true);
    assert.equal(moveStateOf(cfg("vm", { to: "aws", phase: "rollback" }), { from: "vm", to: "aws", phase: "prepare", cutoverDone: false })!.cutoverDone, false);
    assert.deepEqual(stepsFor("rollback", false), []);
    // tlsMode internal: no ACME challenge to forward, so no Caddy config load on the old side.
    assert.ok(stepsFor("prepare", false, true).includes("move-acme"));
    assert.deepEqual(stepsFor("cutover", false, false), ["move-transfer-key", "move-authorize", "move-copy", "move-cutover", "move-forward"]);
    assert.ok(stepsFor("rollback", true).includes("move-copy-back"));
  });
  it("a released side's protected resources are unprotected and kept unless purge is asked", () => {
    assert.deepEqual(releaseOptions({ protect: true }, false), { protect: false, retainOnDelete: true });
    assert.deepEqual(releaseOptions({ protect: true }, true), { protect: false });
    assert.deepEqual(releaseOptions({}, false), { protect: false });
  });
  it("DNS instructions name the records and the TTLs", () => {
    const from = [{ type: "A" as const, name: "app.x.example", value: "203.0.113.10", purpose: "" }];
    const to = [{ type: "A" as const, name: "app.x.example", value: "203.0.113.20", purpose: "" }];
    assert.match(dnsInstructions("prepare", from, to, 60, 3600).join(" "), /lower the TTL of app\.x\.example to 60 s.*3600 s/);
    assert.match(dnsInstructions("cutover", from, to, 60, 3600).join(" "), /change A app\.x\.example -> 203\.0\.113\.20.*3600 s/);
  });
  it("DNS instructions, where the program changes the old side's record (flip), say what the run does instead", () => {
    const from = [{ type: "A" as const, name: "app.x.example", value: "203.0.113.10", purpose: "" }];
    const to = [{ type: "A" as const, name: "app.x.example", value: "203.0.113.20", purpose: "" }];
    const say = (phase: "prepare" | "cutover" | "retire" | "rollback") => dnsInstructions(phase, from, to, 60, 3600, true).join(" ");
    assert.match(say("prepare"), /^This run lowers the TTL of app\.x\.example to 60 s.*Wait at least 3600 s/);
    assert.match(say("cutover"), /^This run points app\.x\.example at the new side once every cutover step succeeded: A app\.x\.example -> 203\.0\.113\.20/);
    assert.match(say("retire"), /stays in the zone when the move is finished: it is yours/);
    assert.match(say("rollback"), /^This run points the record back at the old side: A app\.x\.example -> 203\.0\.113\.10/);
    for (const phase of ["prepare", "cutover", "retire", "rollback"] as const) assert.doesNotMatch(say(phase), /^(Now|After this up|Point the records)/);
  });
});
