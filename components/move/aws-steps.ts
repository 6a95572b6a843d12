// The steps of a move from a host (vm, droplet) onto aws. The new side cannot pull the way a host
// does (a Fargate task's address is not known in advance, so the old host's `from=` restriction
// would have nothing to name): the old host pushes into the new side's backups bucket with a key
// that may only write the move's objects, and a one-off task in the VPC imports it into RDS.
//   prepare:  move-push (old host: bin/move-export --push-s3) -> move-import (run the import task; fails the step)
//   cutover:  move-forecast (the prepare's push and import times against moveMaxFreezeSeconds)
//             -> move-cutover-push (--push-s3 --freeze: the holder keeps requests from here on)
//             -> move-cutover-import (reported, never fails) -> move-scale (backend and worker up, only
//             after an import that compared equal) -> move-conclude (old host: bin/move-export --conclude:
//             held requests go to the load balancer, or, when anything failed, its freeze ends and the
//             step fails) -> move-forward (as between hosts)
//   rollback after cutover: the copy back (aws-copy-back.ts: move-take-back -> move-freeze-back ->
//             move-export-back -> move-copy-back -> move-undo-back -> move-give-back; a copy back
//             that fails before the old host serves is undone in the run), then move-unfreeze (ends a freeze a cutover left
//             unconcluded; nothing to do after a copy back). With tlsMode internal the forwarder
//             could not verify the old host: the operator copies the data back (moveManualDataCopy)
//             and only move-unfreeze runs.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { moveFreezeForecastScript, ONTO_AWS_FORECAST } from "../aws/move-forecast";
import { MOVE_IMPORT_MARKER } from "../aws/move-import";
import { moveImportRunScript, moveScaleScript } from "../aws/move-run";
import { HostAccess, MoveImportAccess } from "../shared/target";
import { AwsCopyBack, declareAwsCopyBack } from "./aws-copy-back";
import { localStep } from "./local-step";
import { FINAL_BACKUP_ARGS } from "./plan";
import { lastLine } from "./report";
import { RemoteStep } from "./remote-step";

/** Steps declared per phase (resource names under the move component); `copiesBack`: a rollback after cutover copies the data back. */
export function awsStepsFor(phase: string, cutoverDone: boolean, copiesBack: boolean): string[] {
  switch (phase) {
    case "prepare":
      return ["move-push", "move-import"];
    case "cutover":
      return ["move-push", "move-import", "move-forecast", "move-cutover-push", "move-cutover-import", "move-scale", "move-conclude", "move-forward"];
    case "retire":
      return ["move-forward", "move-final-backup"];
    case "rollback":
      if (!cutoverDone) return [];
      return copiesBack
        ? ["move-take-back", "move-freeze-back", "move-export-back", "move-copy-back", "move-undo-back", "move-give-back", "move-unfreeze"]
        : ["move-unfreeze"];
    default:
      return [];
  }
}

export interface AwsSteps {
  /** The import's and the cutover's reports (stdout of the steps; no secret): stack output moveStatus.verification. */
  report: Record<string, pulumi.Output<string>>;
}

export function declareAwsSteps(
  parent: pulumi.ComponentResource,
  steps: Set<string>,
  run: RemoteStep,
  oldHost: HostAccess,
  into: MoveImportAccess | undefined,
  /** The new side's load balancer (its DNS name): where the old side forwards, from cutover to its removal. */
  address: pulumi.Output<string>,
  dependsOn: pulumi.Resource[],
  /** moveMaxFreezeSeconds: the cutover is refused before anything runs when the prepare forecasts a longer freeze. */
  maxFreezeSeconds: number,
  /** A rollback's copy back: the aws side's move resources and the old host's address. */
  back?: AwsCopyBack,
): AwsSteps {
  const report: Record<string, pulumi.Output<string>> = {};
  // A step re-runs whenever the one before it did (its output changed: a push's manifest carries
  // its time, an import's report its task): a repeated push is always imported again.
  const step = localStep(parent);
  const local = (
    stepName: string,
    script: string,
    environment: pulumi.Input<Record<string, pulumi.Input<string>>>,
    after: command.local.Command | command.remote.Command,
  ) => step(stepName, script, environment, [after], after.stdout);
  const push = (stepName: string, freeze: boolean, after: pulumi.Resource[]) =>
    run(stepName, oldHost, "move-export", freeze ? ["--push-s3", "--freeze"] : ["--push-s3"], { stdin: into!.pushCredential, logging: "stdout" }, after);
  const importRun = (failOnError: boolean) => into!.runTask.apply((env) => ({ ...env, FAIL_ON_ERROR: failOnError ? "1" : "0" }));

  let prepared: { push: command.remote.Command; imported: command.local.Command } | undefined;
  if (into && steps.has("move-push") && steps.has("move-import")) {
    const first = push("move-push", false, dependsOn);
    const i = local("move-import", moveImportRunScript(MOVE_IMPORT_MARKER), importRun(true), first);
    report.copy = i.stdout;
    prepared = { push: first, imported: i };
  }
  let concluded: pulumi.Resource | undefined;
  if (into && prepared && steps.has("move-cutover-push")) {
    // The prepare's push and import, timed: a freeze forecast over moveMaxFreezeSeconds stops the cutover here.
    const forecast = local(
      "move-forecast",
      moveFreezeForecastScript(ONTO_AWS_FORECAST),
      pulumi.all([prepared.push.stdout, prepared.imported.stdout]).apply(([p, i]) => ({
        PUSH_LINE: lastLine(p),
        IMPORT_LINE: lastLine(i),
        SETTLE_SECONDS: "0",
        MAX_FREEZE: String(maxFreezeSeconds),
      })),
      prepared.imported,
    );
    report.forecast = forecast.stdout;
    const final = push("move-cutover-push", true, [forecast]);
    const i = local("move-cutover-import", moveImportRunScript(MOVE_IMPORT_MARKER), importRun(false), final);
    const scale = local(
      "move-scale",
      moveScaleScript(),
      pulumi.all([into.scale, i.stdout]).apply(([env, out]) => ({ ...env, IMPORT_REPORT: lastLine(out) })),
      i,
    );
    // Its input is the scale step's result: it re-runs when they did. After a failed conclude a
    // plain re-run repeats only this step (and fails again): a new attempt starts from the push,
    // `pulumi up --replace <move-cutover-push's URN>` (docs/move.md), which the old host refuses
    // once a conclude succeeded (the new side's writes are never overwritten).
    const c = run("move-conclude", oldHost, "move-export", ["--conclude", address], { stdin: scale.stdout.apply(lastLine) }, [scale]);
    report.cutover = c.stdout;
    concluded = c;
  }
  if (steps.has("move-forward")) {
    const f = run("move-forward", oldHost, "move-forward", ["--to", address], {}, concluded ? [concluded] : dependsOn);
    report.forward = f.stdout;
    if (steps.has("move-final-backup")) run("move-final-backup", oldHost, "backup", FINAL_BACKUP_ARGS, {}, [f]);
  }
  // Retire: the import key and task are gone; the old side keeps forwarding to the load balancer.
  let copiedBack: pulumi.Resource | undefined;
  if (steps.has("move-copy-back") && back) {
    const c = declareAwsCopyBack(parent, run, oldHost, back, address, dependsOn);
    report.rollback = c.report;
    copiedBack = c.done;
  }
  if (steps.has("move-unfreeze")) run("move-unfreeze", oldHost, "move-export", ["--unfreeze"], {}, copiedBack ? [copiedBack] : dependsOn);
  return { report };
}
