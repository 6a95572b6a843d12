// A rollback after the cutover of a move from a host (vm, droplet) onto aws: the writes aws took
// since come back to the old host. aws cannot hold a request, so the old host does:
//   move-take-back   old host: bin/move-export --take-back (its holder stops sending requests to
//                    the load balancer and keeps them, and every later one)
//   -> the every-request listener rule (what still reaches the load balancer goes to the old host
//      through a forwarder, and waits there too)
//   -> move-freeze-back (aws backend and worker to 0 tasks: no more writes on aws)
//   -> move-export-back (aws's export task into its own backups bucket, move/)
//   -> move-copy-back   old host: bin/move-import --from-s3 --start-app --take-back (restores and
//                       verifies, starts the app its freeze stopped, serves what it kept)
// A cutover that never concluded (the old host never handed over) has nothing to take back: both
// host steps say so and change nothing; move-unfreeze (aws-steps.ts) then ends any freeze left.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostAccess, MoveSourceFactory } from "../shared/target";
import { freezeThenExport } from "./aws-export-run";
import { localStep } from "./local-step";
import { RemoteStep } from "./remote-step";

/** What the operator does when the aws side cannot be stopped (the step fails with it). */
export const COPY_BACK_FREEZE_FAILED =
  'the aws side\'s write freeze failed: it serves on with its data, but its load balancer and the old host now keep every request (up to 600 s each): run pulumi up again NOW (the rollback goes on from this step); docs/move.md "When a phase fails"';

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
  dependsOn: pulumi.Resource[],
): { report: pulumi.Output<string>; done: command.remote.Command } {
  const local = localStep(parent);
  const source = back.source(parent, { newAddress: back.oldAddress, exportData: true, forwarder: true });
  const access = source.exportAccess!;
  // The old host holds only once the forwarder runs: its hold lasts until the copy back ends.
  const take = run("move-take-back", oldHost, "move-export", ["--take-back"], {}, [...dependsOn, ...(source.forwarder ? [source.forwarder] : [])]);
  const rules = source.forwardRules("all", [take]);
  const exported = freezeThenExport(local, { freeze: "move-freeze-back", export: "move-export-back" }, source, rules, COPY_BACK_FREEZE_FAILED);
  const copy = run(
    "move-copy-back",
    oldHost,
    "move-import",
    ["--from-s3", "--start-app", "--take-back"],
    { stdin: access.pullCredential, logging: "stdout", triggers: [exported.stdout] },
    [exported],
  );
  return { report: copy.stdout, done: copy };
}
