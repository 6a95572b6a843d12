// A rollback after the cutover of a move from a host (vm, droplet) onto aws: the writes aws took
// since come back to the old host. aws cannot hold a request, so the old host does:
//   move-take-back   old host: bin/move-export --take-back (its holder stops sending requests to
//                    the load balancer and keeps them, and every later one)
//   -> the every-request listener rule (what still reaches the load balancer goes to the old host
//      through a forwarder, and waits there too)
//   -> move-freeze-back (the rule on, then aws backend and worker to 0 tasks: no more writes on aws)
//   -> move-export-back (aws's export task into its own backups bucket, move/)
//   -> move-copy-back   old host: bin/move-import --from-s3 --start-app --take-back (restores and
//                       verifies, starts the app its freeze stopped, serves what it kept)
//   -> move-undo-back   when the old host did not serve: aws's backend and worker back at their
//                       counts, the rule off (move-undo.ts)
//   -> move-give-back   old host: bin/move-export --give-back LB --rollback (undone: what it kept
//                       goes to the load balancer, and the run fails saying how to try again)
// Freeze, export and copy back report a failure instead of failing, so a copy back that fails
// before the old host serves is undone in the same run: no request waits for the operator.
// A new attempt (pulumi up --replace move-take-back's URN) runs every step again: each re-runs
// when the one before it did, and the freeze turns the rule on again.
// A cutover that never concluded (the old host never handed over) has nothing to take back: the
// host steps say so and change nothing; move-unfreeze (aws-steps.ts) then ends any freeze left.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostAccess, MoveSourceFactory } from "../shared/target";
import { freezeThenExport } from "./aws-export-run";
import { undoThenGiveBack } from "./aws-undo-steps";
import { localStep } from "./local-step";
import { RemoteStep } from "./remote-step";

export interface AwsCopyBack {
  /** The aws new side's move resources (export task, read key, forwarder), declared under the move. */
  source: MoveSourceFactory;
  /** The old host's public address: where the forwarder sends what reaches the load balancer. */
  oldAddress: pulumi.Input<string>;
}

/** Declares the copy back; returns its report (the old host's import report) and its last step. */
export function declareAwsCopyBack(
  parent: pulumi.ComponentResource,
  run: RemoteStep,
  oldHost: HostAccess,
  back: AwsCopyBack,
  /** aws's load balancer (its DNS name): where the old host sends what it kept when the copy back is undone. */
  loadBalancer: pulumi.Input<string>,
  dependsOn: pulumi.Resource[],
): { report: pulumi.Output<string>; done: command.remote.Command } {
  const local = localStep(parent);
  const source = back.source(parent, { newAddress: back.oldAddress, exportData: true, forwarder: true });
  const access = source.exportAccess!;
  // The old host holds only once the forwarder runs: its hold lasts until the copy back ends.
  const take = run("move-take-back", oldHost, "move-export", ["--take-back"], {}, [...dependsOn, ...(source.forwarder ? [source.forwarder] : [])]);
  const rules = source.forwardRules("all", [take]);
  // The take-back's line carries its time: a new attempt (its --replace) freezes and exports again.
  const { exported, exportOf } = freezeThenExport(local, { freeze: "move-freeze-back", export: "move-export-back" }, source, rules, take.stdout);
  const copy = run(
    "move-copy-back",
    oldHost,
    "move-import",
    ["--from-s3", "--start-app", "--take-back", "--report-failure", "--export-of", exportOf],
    { stdin: access.pullCredential, logging: "stdout", triggers: [exported.stdout] },
    [exported],
  );
  const given = undoThenGiveBack(local, run, oldHost, source, { undo: "move-undo-back", giveBack: "move-give-back" }, copy, [loadBalancer, "--rollback"]);
  return { report: copy.stdout, done: given };
}
