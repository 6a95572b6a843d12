// The two steps that end an attempt with aws on one side once the host's import ran (the cutover
// of a move off aws, the copy back of a rollback of a move onto aws): the deploying machine's undo
// (aws's services back, the every-request rule off) when the host did not serve, then the host's
// give-back (what it kept goes to the load balancer; the run fails saying what next).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { moveCutoverUndoScript } from "../aws/move-undo";
import { HostAccess, MoveSource } from "../shared/target";
import { freezeEnv } from "./aws-export-run";
import { LocalStep } from "./local-step";
import { lastLine } from "./report";
import { RemoteStep } from "./remote-step";

export function undoThenGiveBack(
  local: LocalStep,
  run: RemoteStep,
  host: HostAccess,
  source: MoveSource,
  names: { undo: string; giveBack: string },
  /** The host's `bin/move-import --from-s3 --start-app --report-failure` step. */
  imported: command.remote.Command,
  /** `bin/move-export --give-back`'s arguments: the load balancer, and `--rollback` on an old host. */
  giveBackArgs: pulumi.Input<string>[],
): command.remote.Command {
  const undo = local(
    names.undo,
    moveCutoverUndoScript(),
    pulumi.all([freezeEnv(source), imported.stdout]).apply(([env, out]) => ({ ...env, CUTOVER: lastLine(out) })),
    [imported],
    imported.stdout,
  );
  // Fails the run when the host did not serve (undone or not), after sending what it kept back.
  return run(names.giveBack, host, "move-export", ["--give-back", ...giveBackArgs], { stdin: undo.stdout.apply(lastLine) }, [undo]);
}
