// The steps of a move from aws onto a host (vm, droplet). RDS is private, so the old side's data
// leaves through a one-off export task in its VPC, into its own backups bucket (prefix move/);
// the new host reads it with a key for that prefix and the uploads only. The load balancer cannot
// hold requests: at cutover it sends every request to a forwarder behind it (hold.js on ECS),
// which passes it to the new host, whose own request holder keeps it until its app serves.
//   prepare:  move-export (run the export task; fails the step) -> move-copy (new host:
//             bin/move-import --from-s3 --keep-app-stopped). The forwarder serves ACME challenges.
//   cutover:  move-forecast (the prepare's export and copy times against moveMaxFreezeSeconds) ->
//             move-hold (new host: bin/move-forward --hold) -> the every-request listener rule ->
//             move-freeze (old backend and worker to 0 tasks) -> move-cutover-export ->
//             move-cutover (new host: --from-s3 --start-app; releases what it held) -> move-undo
//             -> move-give-back -> move-check (health through the load balancer and the new
//             address). Freeze, export and import report a failure instead of failing: a
//             cutover that failed before the new host served is undone in the same run
//             (move-undo: the old services back, the rule off; move-give-back: what the new
//             host kept goes to the load balancer, and the run fails saying what next).
//   retire:   the forwarder and its rules stay until the old side is removed; the key and the task go.
//   rollback after cutover: the copy back (from-aws-copy-back.ts: the new host pushes, aws imports,
//             scales up and stops forwarding, the new host concludes); with moveManualDataCopy
//             (the operator copied it): move-unfreeze (old backend and worker back at their
//             counts; the rules go afterwards).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FROM_AWS_FORECAST, moveFreezeForecastScript } from "../aws/move-forecast";
import { MOVE_FREEZE_SETTLE_SECONDS, moveUnfreezeScript } from "../aws/move-freeze";
import { HostAccess, MoveSourceFactory } from "../shared/target";
import { EXPORT_RUN, exportRunEnv, freezeThenExport } from "./aws-export-run";
import { undoThenGiveBack } from "./aws-undo-steps";
import { declareFromAwsCopyBack } from "./from-aws-copy-back";
import { forwardCheckScript } from "./forward-check";
import { localStep } from "./local-step";
import { lastLine } from "./report";
import { RemoteStep } from "./remote-step";

/** Steps declared per phase (resource names under the move component); `copiesBack`: a rollback after cutover copies the data back. */
export function fromAwsStepsFor(phase: string, cutoverDone: boolean, copiesBack: boolean): string[] {
  switch (phase) {
    case "prepare":
      return ["move-export", "move-copy"];
    case "cutover":
      return [
        "move-export",
        "move-copy",
        "move-forecast",
        "move-hold",
        "move-freeze",
        "move-cutover-export",
        "move-cutover",
        "move-undo",
        "move-give-back",
        "move-check",
      ];
    case "rollback":
      if (!cutoverDone) return [];
      return copiesBack ? ["move-push-back", "move-import-back", "move-scale-back", "move-unforward-back", "move-conclude-back"] : ["move-unfreeze"];
    default:
      return [];
  }
}

export interface FromAwsInputs {
  steps: Set<string>;
  phase: string;
  run: RemoteStep;
  source: MoveSourceFactory;
  newHost: HostAccess;
  /** The new host's public address (the forwarder's target, the check's second address). */
  newAddress: pulumi.Output<string>;
  /** The old load balancer's DNS name. */
  oldAddress: pulumi.Output<string>;
  domain: string;
  /** The backend's health path the check GETs (the app contract's /health). */
  health: string;
  /** moveMaxFreezeSeconds: the cutover is refused before anything runs when the prepare forecasts a longer freeze. */
  maxFreezeSeconds: number;
  dependsOn: pulumi.Resource[];
}

export function declareFromAwsSteps(parent: pulumi.ComponentResource, m: FromAwsInputs): { report: Record<string, pulumi.Output<string>> } {
  const { steps, run } = m;
  const report: Record<string, pulumi.Output<string>> = {};
  const local = localStep(parent);
  const exportData = steps.has("move-export");
  // At rollback the forwarder and its rules go at the end of the run: until then they send every request to the new host.
  const source = m.source(parent, { newAddress: m.newAddress, exportData, forwarder: m.phase !== "rollback", importData: steps.has("move-push-back") });
  const access = source.exportAccess;
  // A step re-runs whenever the one before it did (its output changed): a new export is always imported again.
  const pull = (stepName: string, app: pulumi.Input<string>[], after: command.local.Command) =>
    run(stepName, m.newHost, "move-import", ["--from-s3", ...app], { stdin: access!.pullCredential, logging: "stdout", triggers: [after.stdout] }, [after]);

  if (m.phase === "prepare") source.forwardRules("acme", m.dependsOn);
  if (m.phase === "retire") source.forwardRules("all", m.dependsOn);

  let copied: command.remote.Command | undefined;
  let first: command.local.Command | undefined;
  if (access && steps.has("move-copy")) {
    first = local("move-export", EXPORT_RUN, exportRunEnv(access!.runTask, true), m.dependsOn);
    copied = pull("move-copy", ["--keep-app-stopped"], first);
    report.copy = copied.stdout;
  }
  if (access && first && copied && steps.has("move-hold")) {
    // The prepare's export and copy, timed: a freeze forecast over moveMaxFreezeSeconds stops the cutover here.
    const forecast = local(
      "move-forecast",
      moveFreezeForecastScript(FROM_AWS_FORECAST),
      pulumi.all([first.stdout, copied.stdout]).apply(([e, c]) => ({
        EXPORT_LINE: lastLine(e),
        COPY_LINE: lastLine(c),
        SETTLE_SECONDS: String(MOVE_FREEZE_SETTLE_SECONDS),
        MAX_FREEZE: String(m.maxFreezeSeconds),
      })),
      [copied],
      copied.stdout,
    );
    report.forecast = forecast.stdout;
    // From the rule on, what reaches the load balancer waits on the new host: it holds first.
    const hold = run("move-hold", m.newHost, "move-forward", ["--hold"], {}, [forecast]);
    const rules = source.forwardRules("all", [hold]);
    // Until the new host serves, a failure is reported, not fatal: move-undo undoes it in this run.
    const final = freezeThenExport(local, { freeze: "move-freeze", export: "move-cutover-export" }, source, rules);
    const cut = pull("move-cutover", ["--start-app", "--report-failure", "--export-of", final.exportOf], final.exported);
    report.cutover = cut.stdout;
    const back = undoThenGiveBack(local, run, m.newHost, source, { undo: "move-undo", giveBack: "move-give-back" }, cut, [m.oldAddress]);
    const check = local(
      "move-check",
      forwardCheckScript(),
      pulumi.all([m.oldAddress, m.newAddress]).apply(([via, to]) => ({ DOMAIN: m.domain, VIA: via, NEW: to, HEALTH: m.health, WAIT_SECONDS: "60" })),
      [back],
      cut.stdout,
    );
    report.forward = check.stdout;
  }
  if (steps.has("move-push-back")) report.rollback = declareFromAwsCopyBack(parent, run, m.newHost, source, m.oldAddress, m.dependsOn).report;
  // Rollback after cutover: the old side serves again before its rules to the new host go (deletes run last).
  if (steps.has("move-unfreeze")) report.rollback = local("move-unfreeze", moveUnfreezeScript(), source.freeze, m.dependsOn).stdout;
  return { report };
}
