// The aws export task's run from the deploying machine, and the write freeze it runs under,
// shared by a move off aws (from-aws-steps.ts) and a rollback's copy back from an aws new side
// (aws-copy-back.ts).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { MOVE_EXPORT_MARKER, moveExportOverrides } from "../aws/move-export";
import { MOVE_FREEZE_SETTLE_SECONDS, moveFreezeScript } from "../aws/move-freeze";
import { moveImportRunScript } from "../aws/move-run";
import { MoveSource } from "../shared/target";
import { LocalStep } from "./local-step";
import { lastLine } from "./report";

/** The export task's run: its report line read from its log; a failure fails the step. */
export const EXPORT_RUN = moveImportRunScript(MOVE_EXPORT_MARKER, { overrides: true, task: "export" });

/** The run-task environment (ids and ARNs only), whether a failed task fails the step, and extra variables. */
export function exportRunEnv(
  runTask: pulumi.Output<Record<string, string>>,
  failOnError: boolean,
  extra: pulumi.Input<Record<string, string>> = {},
): pulumi.Output<Record<string, string>> {
  return pulumi.all([runTask, extra]).apply(([env, x]): Record<string, string> => ({ ...env, ...x, FAIL_ON_ERROR: failOnError ? "1" : "0" }));
}

/** The freeze's start (from the freeze step's report) as the export task's overrides: it reaches the export's manifest, and so the importing host's freeze_seconds. */
function freezeStartOverrides(freezeStdout: pulumi.Output<string>): pulumi.Output<Record<string, string>> {
  const started = freezeStdout.apply((out) => String((JSON.parse(lastLine(out) || "{}") as { freeze_started?: number }).freeze_started ?? ""));
  return started.apply((s): Record<string, string> => (s ? { OVERRIDES_JSON: moveExportOverrides(s) } : {}));
}

/** The export's run when a failed freeze or export is reported, not fatal: no export without a freeze. */
export const EXPORT_RUN_IF_FROZEN = `case \${FREEZE_REPORT:-} in
  *'"freeze_started"'*) ;;
  *) echo "the write freeze did not happen: no export" >&2; echo '{"ok": false, "frozen": false}'; exit 0 ;;
esac
${EXPORT_RUN}`;

/** `--export-of`'s value when this attempt exported nothing: the host refuses before anything changes. */
export const NO_EXPORT = "none";

/**
 * The freeze start of the export this attempt wrote (the export step's last line: ok, and its
 * report's freeze_started), else NO_EXPORT. The host reads only that export: after an undone
 * attempt, an earlier attempt's export still in move/ would lack what aws took since.
 */
export function exportOf(exportLine: string): string {
  try {
    const r = JSON.parse(exportLine) as { ok?: unknown; export?: { freeze_started?: unknown } };
    const at = r.ok === true ? r.export?.freeze_started : undefined;
    return typeof at === "number" && Number.isInteger(at) && at > 0 ? String(at) : NO_EXPORT;
  } catch {
    return NO_EXPORT;
  }
}

/** aws's services and its every-request rule, with the settle: what the freeze stops and turns on, and an undo sets back and turns off. */
export function freezeEnv(source: MoveSource): pulumi.Output<Record<string, string>> {
  return pulumi
    .all([source.freeze, source.forwardOff])
    .apply(([f, rule]): Record<string, string> => ({ ...f, ...rule, SETTLE_SECONDS: String(MOVE_FREEZE_SETTLE_SECONDS) }));
}

/**
 * The aws side's write freeze once `after` (its every-request rule) exists, then the export task
 * of the database nobody writes any more. Neither step fails: each reports (the export runs only
 * after a freeze), and an undo step after the host's import puts aws back when the host did not
 * serve. `trigger`: the freeze runs again whenever that output changed (a new attempt). Returns
 * the export step (its output is the export's line) and the host's `--export-of` value.
 */
export function freezeThenExport(
  local: LocalStep,
  names: { freeze: string; export: string },
  source: MoveSource,
  after: pulumi.Resource[],
  trigger?: pulumi.Output<string>,
): { exported: command.local.Command; exportOf: pulumi.Output<string> } {
  const freeze = local(names.freeze, moveFreezeScript(), freezeEnv(source), after, trigger);
  const extra = pulumi.all([freezeStartOverrides(freeze.stdout), freeze.stdout]).apply(([o, out]) => ({ ...o, FREEZE_REPORT: lastLine(out) }));
  const exported = local(names.export, EXPORT_RUN_IF_FROZEN, exportRunEnv(source.exportAccess!.runTask, false, extra), [freeze], freeze.stdout);
  return { exported, exportOf: exported.stdout.apply((out) => exportOf(lastLine(out))) };
}
