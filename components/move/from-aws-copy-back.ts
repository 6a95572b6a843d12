// A rollback after the cutover of a move off aws (aws -> vm, aws -> digitalocean): the writes the
// new host took come back to RDS. aws's load balancer still forwards every request to the new
// host, which keeps them while:
//   move-push-back       new host: bin/move-export --push-s3 --freeze --back (its app stops, what
//                        arrives is kept; it pushes into aws's buckets as the old host of a move
//                        onto aws does)
//   -> move-import-back  aws's import task restores it into RDS and compares (reports, never fails)
//   -> move-scale-back   aws's backend and worker back at their counts, only after an import
//                        that compared equal
//   -> move-unforward-back  the every-request rule matches nothing: aws's load balancer serves
//                        from aws again (the rule itself goes at the end of the run)
//   -> move-conclude-back   new host: bin/move-export --conclude <load balancer> --back: what it kept, and
//                        what follows, goes there; when anything failed its freeze ends, it serves on
// A new host that never took over (its cutover failed before its app served) pushes nothing:
// the import is skipped, aws's own data (the latest) serves again, and what the new host kept
// goes to it.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { MOVE_FREEZE_SETTLE_SECONDS } from "../aws/move-freeze";
import { moveForwardOffScript } from "../aws/move-forward";
import { MOVE_IMPORT_MARKER } from "../aws/move-import";
import { moveImportRunScript, moveScaleScript } from "../aws/move-run";
import { HostAccess, MoveSource } from "../shared/target";
import { localStep } from "./local-step";
import { lastLine } from "./report";
import { RemoteStep } from "./remote-step";

/** The import's run, skipped (reported ok) when the push said the new host never took over. */
export const IMPORT_BACK_RUN = `case \${PUSHED:-} in
  *'"took_over":false'*)
    echo "the new host never took over: aws's own data is the latest, nothing to import" >&2
    echo '{"copied_back": false, "ok": true}'
    exit 0 ;;
esac
${moveImportRunScript(MOVE_IMPORT_MARKER)}`;

export function declareFromAwsCopyBack(
  parent: pulumi.ComponentResource,
  run: RemoteStep,
  newHost: HostAccess,
  source: MoveSource,
  /** aws's load balancer (its DNS name): where the new host sends what it kept. */
  oldAddress: pulumi.Input<string>,
  dependsOn: pulumi.Resource[],
): { report: pulumi.Output<string>; done: command.remote.Command } {
  const local = localStep(parent);
  const into = source.importAccess!;
  const push = run("move-push-back", newHost, "move-export", ["--push-s3", "--freeze", "--back"], { stdin: into.pushCredential, logging: "stdout" }, dependsOn);
  const imported = local(
    "move-import-back",
    IMPORT_BACK_RUN,
    pulumi.all([into.runTask, push.stdout]).apply(([env, out]): Record<string, string> => ({ ...env, FAIL_ON_ERROR: "0", PUSHED: lastLine(out) })),
    [push],
    push.stdout,
  );
  const scale = local(
    "move-scale-back",
    moveScaleScript(),
    pulumi.all([into.scale, imported.stdout]).apply(([env, out]) => ({ ...env, IMPORT_REPORT: lastLine(out) })),
    [imported],
    imported.stdout,
  );
  const off = local(
    "move-unforward-back",
    moveForwardOffScript(),
    pulumi
      .all([source.forwardOff, into.scale, scale.stdout])
      .apply(([o, s, out]) => ({ ...o, ...s, SETTLE_SECONDS: String(MOVE_FREEZE_SETTLE_SECONDS), REPORT: lastLine(out) })),
    [scale],
    scale.stdout,
  );
  // Its input is the result before it: it re-runs when they did.
  const conclude = run("move-conclude-back", newHost, "move-export", ["--conclude", oldAddress, "--back"], { stdin: off.stdout.apply(lastLine) }, [off]);
  return { report: conclude.stdout, done: conclude };
}
