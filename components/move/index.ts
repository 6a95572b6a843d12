// Declares the customer's deployment: the serving target and, while a move is
// declared in config, the new target beside it plus the move's steps
// (host-steps.ts between two hosts, aws-steps.ts onto aws, from-aws-steps.ts off aws). The old target is declared exactly as without a
// move (same names, same parent, same inputs): prepare and cutover never
// update, replace or delete it. The new target lives under the `move`
// component, so its URNs cannot collide with the old one's (vm -> vm); the
// run that finishes a move aliases it back to the top level.
import * as pulumi from "@pulumi/pulumi";
import { AwsTarget } from "../aws";
import { DigitalOceanTarget } from "../digitalocean";
import { APP_CONTRACT } from "../../core/app-contract";
import { FreshtrackConfig, MoveSettings, PROJECT, Target, moveCopiesBack } from "../../core/config";
import { TargetArgs, TargetOutputs } from "../shared/target";
import { VmTarget } from "../vm";
import { awsStepsFor, declareAwsSteps } from "./aws-steps";
import { declareFromAwsSteps, fromAwsStepsFor } from "./from-aws-steps";
import { OldRecordPlan, oldRecordPlan, oldRecordTransformation, pendingNewSide } from "./old-dns-record";
import { declareHostSteps } from "./host-steps";
import { dnsInstructions, releaseOptions, stepsFor } from "./plan";
import { remoteStep } from "./remote-step";
import { stepResult } from "./report";
import { DeployedState, MoveState, moveStateOf } from "./state";

export * from "./plan";
export { onHostCommand } from "./remote-step";
export * from "./state";

export const MOVE_COMPONENT = { type: "freshtrack:move:Move", name: "move" } as const;

const TARGET_CLASSES: Record<Target, new (name: string, args: TargetArgs, opts?: pulumi.ComponentResourceOptions) => TargetOutputs & pulumi.ComponentResource> =
  {
    vm: VmTarget,
    digitalocean: DigitalOceanTarget,
    aws: AwsTarget,
  };

export interface CustomerOutputs {
  serving: TargetOutputs;
  /** The `move` stack output: the state the next run checks against (state.ts). */
  moveState: MoveState | null;
  /** Instructions and the new side's addresses while a move is declared. */
  move?: pulumi.Output<unknown>;
}

/** A rollback after cutover copies the new side's data back itself: unless the operator did (moveManualDataCopy), or cannot be (state.ts refuses). */
export function copiesBack(cfg: FreshtrackConfig): boolean {
  return !!cfg.move && !cfg.move.manualDataCopy && moveCopiesBack(cfg.target, cfg.move.to, cfg.app.tlsMode);
}

/** Marks every resource of a side being released (transformations reach all its children). */
function released(purge: boolean): pulumi.ResourceTransformation {
  return (a) => ({ props: a.props, opts: { ...a.opts, ...releaseOptions(a.opts as { protect?: boolean }, purge) } });
}

/**
 * An aws old side from its cutover on: its backend and worker are at 0 tasks by the move's freeze
 * (from-aws-steps.ts), not by config; a refresh must not make `pulumi up` start them again beside
 * the new side, nor, in a rollback's copy back, before the data is back (its move-scale-back
 * starts them). An option, not an input: the old side's resources keep their inputs.
 */
const frozenByMove: pulumi.ResourceTransformation = (a) =>
  a.type === "aws:ecs/service:Service" ? { props: a.props, opts: { ...a.opts, ignoreChanges: [...(a.opts.ignoreChanges ?? []), "desiredCount"] } } : undefined;

/** This run's move, read once from config and the deployed state, and passed down. */
export interface MoveRun {
  settings: MoveSettings;
  /** Writes have moved to the new side: cutover, retire, or a rollback after a cutover. */
  cutoverDone: boolean;
  /** A rollback after cutover that copies the new side's data back (copiesBack). */
  copyBack: boolean;
  /** What the move does with the old side's own DNS record (old-dns-record.ts). */
  dnsPlan: OldRecordPlan;
}

export function moveRunOf(cfg: FreshtrackConfig, state: MoveState | null): MoveRun | undefined {
  if (!cfg.move || !state) return undefined;
  const cutoverDone = state.cutoverDone ?? false;
  return { settings: cfg.move, cutoverDone, copyBack: cfg.move.phase === "rollback" && cutoverDone && copiesBack(cfg), dnsPlan: oldRecordPlan(cfg) };
}

export function deployCustomer(name: string, args: TargetArgs, deployed: DeployedState): CustomerOutputs {
  const cfg = args.config;
  const moveState = moveStateOf(cfg, deployed.move);
  const move = moveRunOf(cfg, moveState);
  const phase = move?.settings.phase;
  // The old side's own DNS record (old-dns-record.ts) points at the new side's address, which
  // exists only once the move's component does (after the serving side): settled below.
  const newSide = pendingNewSide();
  const dns = move ? oldRecordTransformation(move.dnsPlan, move.settings.phase, move.settings.dnsTtl, newSide.promise) : undefined;
  const finishing = !move && deployed.move?.phase === "retire" && deployed.move.to === cfg.target;
  const servingOpts: pulumi.ComponentResourceOptions = {
    // The retired move's new side was declared under the move component: same resources, new parent.
    ...(finishing ? { aliases: [{ parent: pulumi.createUrn(MOVE_COMPONENT.name, MOVE_COMPONENT.type) }] } : {}),
    transformations: [
      ...(move && phase === "retire" ? [released(move.settings.purge)] : []),
      ...(cfg.target === "aws" && (phase === "cutover" || phase === "retire" || move?.copyBack) ? [frozenByMove] : []),
      ...(dns ? [dns] : []),
    ],
  };
  const serving = new TARGET_CLASSES[cfg.target](name, servingArgs(args), servingOpts);
  if (!move) return { serving, moveState: null };
  let component: Move;
  try {
    component = new Move(name, args, move, serving);
  } catch (e) {
    newSide.reject(e);
    throw e;
  }
  // Resolved only once every step of the phase succeeded (their reports): a cutover that failed never points DNS away.
  newSide.resolve({ address: pulumi.all([component.newAddress, component.done]).apply(([address]) => address) });
  return { serving, moveState, move: component.outputs };
}

/**
 * The serving side's arguments. A rollback from a vm back onto a droplet copies the new side's
 * data back by pulling from the vm over SSH, from the droplet: its firewall must let that out.
 */
export function servingArgs(args: TargetArgs): TargetArgs {
  const move = args.config.move;
  const newVm = move?.to === "vm" ? (move.vm ?? args.config.vm) : undefined;
  if (move?.phase !== "rollback" || args.config.target !== "digitalocean" || !newVm) return args;
  return { ...args, movePullFrom: { host: newVm.host, port: newVm.port } };
}

/** The config the new side is declared with: its target, and for vm -> vm the new host. */
export function destinationArgs(args: TargetArgs, run: MoveRun): TargetArgs {
  const move = run.settings;
  const data = { ...args.config.data, poolSize: move.poolSize ?? args.config.data.poolSize };
  const config: FreshtrackConfig = { ...args.config, target: move.to, data, move: undefined, ...(move.vm ? { vm: move.vm } : {}) };
  const userSecrets = move.vm ? { ...args.userSecrets, vmSshPrivateKey: new pulumi.Config(PROJECT).requireSecret("moveVmSshPrivateKey") } : args.userSecrets;
  // The new side pulls from a vm old side over SSH during prepare and cutover (a droplet's
  // firewall must let that out); from retire on it pulls nothing, and its rules are final.
  const pulling = move.phase === "prepare" || move.phase === "cutover";
  const old = pulling && args.config.target === "vm" ? args.config.vm : undefined;
  // A rollback after cutover: the old vm pulls the data back from the new side (a droplet's firewall lets it in).
  const pulledBy = move.phase === "rollback" && run.cutoverDone && args.config.target === "vm" ? args.config.vm : undefined;
  // aws: its backend and worker wait for the move's import (components/move/aws-steps.ts); a
  // rollback's copy back stops them itself (aws-copy-back.ts).
  const incoming = move.to === "aws" && move.phase !== "retire" ? (run.copyBack ? "copy-back" : move.phase) : undefined;
  return {
    ...args,
    config,
    userSecrets,
    ...(old ? { movePullFrom: { host: old.host, port: old.port } } : {}),
    // From where its connections leave: vmEgressAddress behind a NAT.
    ...(pulledBy ? { movePulledBy: { host: pulledBy.egressAddress ?? pulledBy.host } } : {}),
    ...(incoming ? { moveIncoming: incoming } : {}),
  };
}

class Move extends pulumi.ComponentResource {
  public readonly outputs: pulumi.Output<unknown>;
  /** The new side's public address. */
  public readonly newAddress: pulumi.Output<string>;
  /** Every step's report of this phase: resolved once they all succeeded. */
  public readonly done: pulumi.Output<unknown>;

  constructor(name: string, args: TargetArgs, moveRun: MoveRun, old: TargetOutputs & pulumi.Resource) {
    super(MOVE_COMPONENT.type, MOVE_COMPONENT.name, {}, {});
    const from = args.config.target;
    const move = moveRun.settings;
    const { phase } = move;
    const { cutoverDone } = moveRun;
    const fresh = new TARGET_CLASSES[move.to](name, destinationArgs(args, moveRun), {
      parent: this,
      ...(phase === "rollback" ? { transformations: [released(move.purge)] } : {}),
    });

    // Both sides hosts: the new one pulls over SSH. A host onto aws: the old one pushes into its bucket.
    // aws onto a host: a task exports into the old bucket, the new host reads it.
    const viaSsh = old.hostAccess && fresh.hostAccess;
    const viaBucket = old.hostAccess && move.to === "aws";
    const offAws = old.moveSource && fresh.hostAccess;
    const steps = new Set(
      viaBucket
        ? awsStepsFor(phase, cutoverDone, moveRun.copyBack)
        : offAws
          ? fromAwsStepsFor(phase, cutoverDone, moveRun.copyBack)
          : stepsFor(phase, cutoverDone, args.config.app.tlsMode === "acme"),
    );
    const run = remoteStep(this, fresh);
    const report = viaBucket
      ? declareAwsSteps(this, steps, run, old.hostAccess!, fresh.moveImport, fresh.hostAddress, [fresh], move.maxFreezeSeconds, {
          source: fresh.moveSource!,
          oldAddress: old.hostAddress,
        }).report
      : viaSsh
        ? declareHostSteps(this, steps, run, old.hostAccess!, fresh.hostAccess!, old, move.maxFreezeSeconds).report
        : offAws
          ? declareFromAwsSteps(this, {
              steps,
              phase,
              run,
              source: old.moveSource!,
              newHost: fresh.hostAccess!,
              newAddress: fresh.hostAddress,
              oldAddress: old.hostAddress,
              domain: args.config.app.domain,
              health: APP_CONTRACT.health.full.path,
              maxFreezeSeconds: move.maxFreezeSeconds,
              dependsOn: [fresh],
            }).report
          : {};

    const instructions = pulumi
      .all([old.dnsRecords, fresh.dnsRecords])
      .apply(([a, b]) => dnsInstructions(phase, a, b, move.dnsTtl, move.previousDnsTtl, moveRun.dnsPlan === "flip"));
    this.newAddress = fresh.hostAddress;
    this.done = pulumi.output(report);
    this.outputs = pulumi.output({
      from,
      to: move.to,
      phase,
      newUrl: fresh.url,
      newHostAddress: fresh.hostAddress,
      newDatabaseEndpoint: fresh.databaseEndpoint,
      dnsRecordsToSet: fresh.dnsRecords,
      dns: instructions,
      dataPath: viaSsh
        ? "bin/move-export on the old host, streamed over SSH to bin/move-import on the new host"
        : viaBucket
          ? "bin/move-export --push-s3 on the old host into the new backups bucket, imported by the move-import task in the VPC"
          : "the export task in the old VPC into the old backups bucket (move/), read by bin/move-import --from-s3 on the new host",
      // bin/move-import prints its report (row counts, sequences, objects, secret digests equal, copy and
      // freeze seconds) as JSON, and bin/move-forward --to the new side's health through its public
      // address: verification, one JSON object per step (jq .verification.cutover.ok).
      verification: pulumi.output(report).apply((r) => Object.fromEntries(Object.entries(r).map(([step, out]) => [step, stepResult(out)]))),
    });
    this.registerOutputs({ outputs: this.outputs });
  }
}
