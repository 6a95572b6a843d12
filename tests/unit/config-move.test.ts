// The move keys (moveTo, movePhase, moveVm*, ...): validated with the rest of the
// config, before any resource, one message per key with its fix.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, FreshtrackConfig, MOVE_HOLD_SECONDS, parseConfig } from "../../core/config";
import { VM_RAW } from "../fixtures/config";
import { oldRecordPlan } from "../../components/move/old-dns-record";

const base: Record<string, string> = { ...VM_RAW };
const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWHOSTNEWHOSTNEWHOSTNEWHOSTNEWHOSTNEWHOST12";
const vmToVm = { moveTo: "vm", moveVmHost: "203.0.113.77", moveVmHostKey: NEW_KEY, moveVmSshPrivateKey: "k2" };
const secrets = new Set(["vmSshPrivateKey", "moveVmSshPrivateKey"]);
const parse = (over: Record<string, string>, s = secrets): FreshtrackConfig => parseConfig({ ...base, ...over }, s);

function refuses(over: Record<string, string>, key: string, text: RegExp, s = secrets) {
  assert.throws(
    () => parse(over, s),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      const p = e.problems.find((x) => x.key === key);
      assert.ok(p, `no problem for ${key}: ${e.message}`);
      assert.match(p.message, /Fix:/);
      assert.match(p.message, text);
      return true;
    },
  );
}

describe("a move and the old side's DNS record (oldRecordPlan)", () => {
  const cfg = (over: Partial<FreshtrackConfig>): FreshtrackConfig => ({ ...parse({}), ...over }) as FreshtrackConfig;
  const move = (to: "vm" | "digitalocean" | "aws") => ({ ...parse({ moveTo: "digitalocean", doSshCidrs: '["198.51.100.7/32"]' }).move!, to });
  const doOld = (manageDns: boolean) => ({
    target: "digitalocean" as const,
    digitalocean: { ...parse({ target: "digitalocean", doSshCidrs: '["198.51.100.7/32"]' }).digitalocean!, manageDns },
  });
  it("flips where the old side manages it and the new side has an IPv4 address; leaves it to the operator otherwise; none without managed DNS", () => {
    assert.equal(oldRecordPlan(cfg({ ...doOld(true), move: move("vm"), vm: { ...parse({}).vm!, host: "203.0.113.77" } })), "flip");
    assert.equal(oldRecordPlan(cfg({ ...doOld(true), move: move("vm"), vm: { ...parse({}).vm!, host: "new-host.example" } })), "operator");
    assert.equal(oldRecordPlan(cfg({ ...doOld(true), move: move("aws") })), "operator");
    assert.equal(oldRecordPlan(cfg({ ...doOld(false), move: move("vm") })), "none");
    assert.equal(oldRecordPlan(cfg({ ...doOld(true), move: undefined })), "none");
    const awsOld = (zone: string) => ({
      target: "aws" as const,
      aws: { ...(parse({}).aws ?? ({} as NonNullable<FreshtrackConfig["aws"]>)), route53ZoneId: zone },
    });
    assert.equal(oldRecordPlan(cfg({ ...awsOld("Z0123456789ABC"), move: move("digitalocean") })), "flip");
    assert.equal(oldRecordPlan(cfg({ ...awsOld(""), move: move("digitalocean") })), "none");
  });
});

describe("config: move keys", () => {
  it("no move by default", () => {
    assert.equal(parse({}).move, undefined);
  });
  it("vm -> digitalocean reads the do* keys for the new side and keeps target vm", () => {
    const c = parse({ moveTo: "digitalocean", doSshCidrs: JSON.stringify(["198.51.100.7/32"]) });
    assert.equal(c.target, "vm");
    assert.deepEqual(
      { to: c.move!.to, phase: c.move!.phase, purge: c.move!.purge, dnsTtl: c.move!.dnsTtl },
      { to: "digitalocean", phase: "prepare", purge: false, dnsTtl: 60 },
    );
    assert.ok(c.vm && c.digitalocean, "both sides' settings");
  });
  it("each side gets its own derived PgBouncer pool: the serving side's does not change", () => {
    const plain = parse({});
    const moving = parse({ moveTo: "digitalocean", doSshCidrs: JSON.stringify(["198.51.100.7/32"]) });
    assert.equal(moving.data.poolSize, plain.data.poolSize, "old side's pool unchanged by the move");
    assert.ok(moving.move!.poolSize! < 25 - 15, `new side's pool fits its database (${moving.move!.poolSize})`);
  });
  it("vm -> vm needs the new host under moveVm*, distinct from vmHost", () => {
    const c = parse(vmToVm);
    assert.equal(c.move!.vm!.host, "203.0.113.77");
    assert.equal(c.vm!.host, "203.0.113.10");
    refuses({ moveTo: "vm" }, "moveVmHost", /required for a vm -> vm move/);
    refuses({ ...vmToVm, moveVmHost: "203.0.113.10" }, "moveVmHost", /different host/);
    refuses({ ...vmToVm, moveVmHostKey: "nope" }, "moveVmHostKey", /ssh-keyscan/);
  });
  it("a host behind a NAT: moveVmEgressAddress and vmEgressAddress take one address or a narrow CIDR, never the world", () => {
    assert.equal(parse({ ...vmToVm, moveVmEgressAddress: "192.0.2.44" }).move!.vm!.egressAddress, "192.0.2.44");
    assert.equal(parse({ vmEgressAddress: "198.51.100.16/28" }).vm!.egressAddress, "198.51.100.16/28");
    assert.equal(parse({ vmEgressAddress: "2001:db8::/64" }).vm!.egressAddress, "2001:db8::/64");
    assert.equal(parse({}).vm!.egressAddress, undefined, "none by default: the pull is accepted from vmHost's addresses");
    refuses({ ...vmToVm, moveVmEgressAddress: "nat.example" }, "moveVmEgressAddress", /neither an IP address nor a CIDR/);
    for (const wide of ["0.0.0.0/0", "10.0.0.0/8", "::/0", "2001:db8::/32"]) refuses({ vmEgressAddress: wide }, "vmEgressAddress", /addresses/);
    refuses({ moveVmEgressAddress: "192.0.2.44" }, "moveVmEgressAddress", /no move is declared/);
  });
  it("the new host's key must be set as a secret", () => {
    refuses(vmToVm, "moveVmSshPrivateKey", /plain text/, new Set(["vmSshPrivateKey"]));
  });
  it("refuses unknown targets and phases, moves within aws or digitalocean, and move keys without a move", () => {
    refuses({ moveTo: "gcp" }, "moveTo", /not a target/);
    refuses({ ...vmToVm, movePhase: "later" }, "movePhase", /prepare, cutover, retire, rollback/);
    refuses({ target: "aws", moveTo: "aws" }, "moveTo", /only vm -> vm/);
    refuses({ movePhase: "cutover" }, "movePhase", /no move is declared/);
  });
  it("the new side must not take the DNS name at prepare", () => {
    refuses(
      { moveTo: "digitalocean", doSshCidrs: JSON.stringify(["198.51.100.7/32"]), doManageDns: "true", doDnsZone: "acme.example" },
      "doManageDns",
      /until the move is finished/,
    );
    refuses({ moveTo: "aws", awsRoute53ZoneId: "Z0123456789ABC" }, "awsRoute53ZoneId", /until the move is finished/);
  });
  it("every pair copies its data forward; moveManualDataCopy is for pairs with aws (a rollback that copies nothing back); off aws needs tlsMode acme", () => {
    const toAws = { moveTo: "aws", awsRegion: "eu-central-1" };
    for (const phase of ["prepare", "cutover", "retire", "rollback"]) assert.equal(parse({ ...toAws, movePhase: phase }).move!.phase, phase);
    // vm <- aws: the vm keys stay (they name the new host), the old side is aws.
    const offAws = { target: "aws", awsRegion: "eu-central-1", moveTo: "vm" };
    for (const phase of ["prepare", "cutover", "retire", "rollback"]) assert.equal(parse({ ...offAws, movePhase: phase }).move!.phase, phase);
    assert.equal(parse({ ...offAws, movePhase: "rollback", moveManualDataCopy: "true" }).move!.manualDataCopy, true);
    // The load balancer's forwarder verifies the new host with the public CAs only.
    refuses({ ...offAws, tlsMode: "internal" }, "tlsMode", /must be acme for a move off aws.*pulumi config set tlsMode acme/);
    // Pairs with aws copy back by themselves; the key says the operator did (required onto aws with tlsMode internal).
    assert.equal(parse({ ...toAws, movePhase: "rollback", moveManualDataCopy: "true" }).move!.manualDataCopy, true);
    assert.equal(parse({ ...toAws, tlsMode: "internal", movePhase: "rollback", moveManualDataCopy: "true" }).move!.manualDataCopy, true);
    refuses({ ...vmToVm, movePhase: "cutover", moveManualDataCopy: "true" }, "moveManualDataCopy", /vm -> vm copies its data back itself/);
    refuses({ ...toAws, moveManualDataCopy: "yes" }, "moveManualDataCopy", /true or false/);
    refuses({ moveManualDataCopy: "true" }, "moveManualDataCopy", /no move is declared/);
  });
  it("moveMaxFreezeSeconds: 300 by default, at most a minute under the holder's limit, for every pair", () => {
    assert.equal(parse(vmToVm).move!.maxFreezeSeconds, 300);
    assert.equal(parse({ ...vmToVm, moveMaxFreezeSeconds: "540" }).move!.maxFreezeSeconds, 540);
    assert.equal(parse({ moveTo: "digitalocean", doSshCidrs: JSON.stringify(["198.51.100.7/32"]), moveMaxFreezeSeconds: "60" }).move!.maxFreezeSeconds, 60);
    // A longer forecast than the holder keeps a request would let readings be answered 503.
    refuses({ ...vmToVm, moveMaxFreezeSeconds: "541" }, "moveMaxFreezeSeconds", /from 5 to 540/);
    refuses({ ...vmToVm, moveMaxFreezeSeconds: "0" }, "moveMaxFreezeSeconds", /from 5 to 540/);
    refuses({ ...vmToVm, moveMaxFreezeSeconds: "2m" }, "moveMaxFreezeSeconds", /whole number/);
    // With aws on either side the cutover's move-forecast reads it.
    assert.equal(parse({ target: "aws", awsRegion: "eu-central-1", moveTo: "vm", moveMaxFreezeSeconds: "120" }).move!.maxFreezeSeconds, 120);
    assert.equal(parse({ moveTo: "aws", awsRegion: "eu-central-1", moveMaxFreezeSeconds: "120" }).move!.maxFreezeSeconds, 120);
    refuses({ moveTo: "aws", awsRegion: "eu-central-1", moveMaxFreezeSeconds: "541" }, "moveMaxFreezeSeconds", /from 5 to 540/);
    // The holder on the host keeps a request as long as the config's limit assumes.
    const lib = fs.readFileSync(path.join(__dirname, "../../compose/files/bin/lib/hold.sh"), "utf8");
    assert.match(lib, new RegExp(`^FT_MOVE_HOLD_MS=${MOVE_HOLD_SECONDS * 1000}$`, "m"));
  });
  it("retire refuses to purge the old side's data by way of vmPurgeOnDelete unless movePurgeOld says so", () => {
    refuses({ ...vmToVm, movePhase: "retire", vmPurgeOnDelete: "true" }, "movePurgeOld", /vmPurgeOnDelete is true/);
    assert.equal(parse({ ...vmToVm, movePhase: "retire", vmPurgeOnDelete: "true", movePurgeOld: "true" }).move!.purge, true);
  });
});
