// Declares the customer's deployment: the serving target and, while a move is
// declared in config, the new target beside it plus the move's steps
// (components/move/plan.ts). The old target is declared exactly as without a
// move (same names, same parent, same inputs): prepare and cutover never
// update, replace or delete it. The new target lives under the `move`
// component, so its URNs cannot collide with the old one's (vm -> vm); the
// run that finishes a move aliases it back to the top level.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { AwsTarget } from "../aws";
import { DigitalOceanTarget } from "../digitalocean";
import { FreshtrackConfig, MoveSettings, PROJECT, Target } from "../../core/config";
import { normalizeHostKey, shellQuote } from "../shared/host";
import { HostAccess, TargetArgs, TargetOutputs } from "../shared/target";
import { VmTarget } from "../vm";
import { awsStepsFor, declareAwsSteps } from "./aws-steps";
import { dnsInstructions, releaseOptions, stepsFor } from "./plan";
import { DeployedState, MoveState, moveStateOf } from "./state";

export * from "./plan";
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

/** Marks every resource of a side being released (transformations reach all its children). */
function released(purge: boolean): pulumi.ResourceTransformation {
  return (a) => ({ props: a.props, opts: { ...a.opts, ...releaseOptions(a.opts as { protect?: boolean }, purge) } });
}

export function deployCustomer(name: string, args: TargetArgs, deployed: DeployedState): CustomerOutputs {
  const cfg = args.config;
  const move = cfg.move;
  const finishing = !move && deployed.move?.phase === "retire" && deployed.move.to === cfg.target;
  const servingOpts: pulumi.ComponentResourceOptions = {
    // The retired move's new side was declared under the move component: same resources, new parent.
    ...(finishing ? { aliases: [{ parent: pulumi.createUrn(MOVE_COMPONENT.name, MOVE_COMPONENT.type) }] } : {}),
    ...(move?.phase === "retire" ? { transformations: [released(move.purge)] } : {}),
  };
  const serving = new TARGET_CLASSES[cfg.target](name, servingArgs(args), servingOpts);
  if (!move) return { serving, moveState: null };
  const component = new Move(name, args, move, serving, deployed);
  return { serving, moveState: moveStateOf(cfg, deployed.move), move: component.outputs };
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
export function destinationArgs(args: TargetArgs, move: MoveSettings, cutoverDone = false): TargetArgs {
  const data = { ...args.config.data, poolSize: move.poolSize ?? args.config.data.poolSize };
  const config: FreshtrackConfig = { ...args.config, target: move.to, data, move: undefined, ...(move.vm ? { vm: move.vm } : {}) };
  const userSecrets = move.vm ? { ...args.userSecrets, vmSshPrivateKey: new pulumi.Config(PROJECT).requireSecret("moveVmSshPrivateKey") } : args.userSecrets;
  // The new side pulls from a vm old side over SSH during prepare and cutover (a droplet's
  // firewall must let that out); from retire on it pulls nothing, and its rules are final.
  const pulling = move.phase === "prepare" || move.phase === "cutover";
  const old = pulling && args.config.target === "vm" ? args.config.vm : undefined;
  // A rollback after cutover: the old vm pulls the data back from the new side (a droplet's firewall lets it in).
  const pulledBy = move.phase === "rollback" && cutoverDone && args.config.target === "vm" ? args.config.vm : undefined;
  // aws: its backend and worker wait for the move's import (components/move/aws-steps.ts).
  const incoming = move.to === "aws" && move.phase !== "retire" ? move.phase : undefined;
  return {
    ...args,
    config,
    userSecrets,
    ...(old ? { movePullFrom: { host: old.host, port: old.port } } : {}),
    ...(pulledBy ? { movePulledBy: { host: pulledBy.host } } : {}),
    ...(incoming ? { moveIncoming: incoming } : {}),
  };
}

class Move extends pulumi.ComponentResource {
  public readonly outputs: pulumi.Output<unknown>;

  constructor(name: string, args: TargetArgs, move: MoveSettings, old: TargetOutputs & pulumi.Resource, deployed: DeployedState) {
    super(MOVE_COMPONENT.type, MOVE_COMPONENT.name, {}, {});
    const from = args.config.target;
    const phase = move.phase;
    const cutoverDone = phase === "cutover" || phase === "retire" || (phase === "rollback" && (deployed.move?.cutoverDone ?? false));
    const fresh = new TARGET_CLASSES[move.to](name, destinationArgs(args, move, cutoverDone), {
      parent: this,
      ...(phase === "rollback" ? { transformations: [released(move.purge)] } : {}),
    });

    // Both sides hosts: the new one pulls over SSH. A host onto aws: the old one pushes into its bucket.
    const viaSsh = old.hostAccess && fresh.hostAccess;
    const viaBucket = old.hostAccess && move.to === "aws";
    const steps = new Set(viaBucket ? awsStepsFor(phase, cutoverDone) : stepsFor(phase, cutoverDone, args.config.app.tlsMode === "acme"));
    const report: Record<string, pulumi.Output<string>> = {};
    const run = (
      stepName: string,
      on: HostAccess,
      script: string,
      scriptArgs: pulumi.Input<string>[],
      extra: Partial<command.remote.CommandArgs> = {},
      dependsOn: pulumi.Resource[] = [],
    ) =>
      new command.remote.Command(
        stepName,
        {
          connection: {
            host: on.host,
            port: on.port,
            user: on.user,
            privateKey: pulumi.secret(on.privateKey),
            hostKey: pulumi.output(on.hostKey).apply(normalizeHostKey),
          },
          create: pulumi.all(scriptArgs).apply((a) => onHostCommand(on, script, a)),
          logging: "stdoutAndStderr",
          ...extra,
        },
        { parent: this, dependsOn: [fresh, ...dependsOn], ...(extra.stdin ? { additionalSecretOutputs: ["stdin"] } : {}) },
      );
    if (viaBucket) {
      Object.assign(report, declareAwsSteps(this, steps, run, old.hostAccess!, fresh.moveImport, fresh.hostAddress, [fresh]).report);
    }
    if (viaSsh) {
      const oldHost = old.hostAccess!;
      const newHost = fresh.hostAccess!;
      const key = steps.has("move-transfer-key") ? new tls.PrivateKey("move-transfer-key", { algorithm: "ED25519" }, { parent: this }) : undefined;
      const pub = key?.publicKeyOpenssh.apply((k) => k.trim());
      // The pull comes from the other side's own address; the forward goes to its public one.
      const authorizeArgs = (h: HostAccess) =>
        h.egressAddress ? ["--authorize", pulumi.output(h.egressAddress), pulumi.output(h.host)] : ["--authorize", pulumi.output(h.host)];
      const source = (h: HostAccess) => [pulumi.interpolate`${h.user}@${h.host}`, String(h.port), pulumi.output(h.hostKey).apply(normalizeHostKey)];

      let authorize: pulumi.Resource | undefined;
      if (steps.has("move-authorize") && pub) {
        // The key may run bin/move-export only, and only from the new host.
        authorize = run("move-authorize", oldHost, "move-export", authorizeArgs(newHost), {
          stdin: pub,
          delete: onHostCommand(oldHost, "move-export", ["--deauthorize"]),
        });
      }
      // The new side's Caddy gets its certificate through the old one (DNS still points there).
      if (steps.has("move-acme")) run("move-acme", oldHost, "move-forward", ["--acme-to", pulumi.output(newHost.host)]);
      let copy: command.remote.Command | undefined;
      if (steps.has("move-copy") && key && authorize) {
        copy = run(
          "move-copy",
          newHost,
          "move-import",
          ["--from", ...source(oldHost), "--keep-app-stopped"],
          { stdin: pulumi.secret(key.privateKeyOpenssh), logging: "stdout" },
          [authorize],
        );
        report.copy = copy.stdout;
      }
      // Cutover first: if the final copy or its verification fails, bin/move-import ends the old
      // side's freeze and the old Caddy was never told to forward, so the old side serves on.
      let cut: pulumi.Resource | undefined;
      if (steps.has("move-cutover") && key && copy) {
        const c = run(
          "move-cutover",
          newHost,
          "move-import",
          ["--from", ...source(oldHost), "--freeze-source", "--start-app"],
          { stdin: pulumi.secret(key.privateKeyOpenssh), logging: "stdout" },
          [copy],
        );
        report.cutover = c.stdout;
        cut = c;
      }
      let forward: pulumi.Resource | undefined;
      if (steps.has("move-forward")) {
        const f = run("move-forward", oldHost, "move-forward", ["--to", pulumi.output(newHost.host)], {}, cut ? [cut] : []);
        // The new side's health through its public address, as clients reach it after the DNS change.
        report.forward = f.stdout;
        forward = f;
      }
      if (steps.has("move-final-backup")) run("move-final-backup", oldHost, "backup", [], {}, forward ? [forward] : []);
      if (steps.has("move-authorize-back") && key && pub) {
        const back = run("move-authorize-back", newHost, "move-export", authorizeArgs(oldHost), {
          stdin: pub,
          delete: onHostCommand(newHost, "move-export", ["--deauthorize"]),
        });
        const copyBack = run(
          "move-copy-back",
          oldHost,
          "move-import",
          ["--from", ...source(newHost), "--freeze-source", "--start-app"],
          { stdin: pulumi.secret(key.privateKeyOpenssh), logging: "stdout" },
          // After the old side's own update (a droplet's firewall lets this pull out).
          [back, old],
        );
        report.rollback = copyBack.stdout;
        run("move-unforward", oldHost, "move-forward", ["--off"], {}, [copyBack]);
      }
    }

    const instructions = pulumi.all([old.dnsRecords, fresh.dnsRecords]).apply(([a, b]) => dnsInstructions(phase, a, b, move.dnsTtl, move.previousDnsTtl));
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
          : "not automated off aws: see docs/move.md",
      // bin/move-import prints its report (row counts, sequences, objects, secret digests equal) as JSON, and
      // bin/move-forward --to the new side's health through its public address: verification.
      verification: pulumi.output(report),
    });
    this.registerOutputs({ outputs: this.outputs });
  }
}

/** `[sudo -n] APP_DIR/current/bin/SCRIPT ARGS`: the scripts of the release that is serving on that host. */
export function onHostCommand(on: Pick<HostAccess, "user" | "appDir">, script: string, scriptArgs: string[]): string {
  const line = [`${on.appDir}/current/bin/${script}`, ...scriptArgs].map(shellQuote).join(" ");
  return on.user === "root" ? line : `sudo -n ${line}`;
}
