// Pure scripts a move onto aws runs on the deploying machine (command.local.Command), with ids
// and ARNs only in their environment: the import task's run, which prints its report, and the
// scale-up of the backend and worker once the final import succeeded. At cutover neither fails
// the step: the old host's `bin/move-export --conclude` reads the result and either sends the
// held requests to the new side or ends its own write freeze (a failed step leaves the old side
// serving).
import { SCALE } from "./move-freeze";
import { RunTaskOptions, runTaskScript } from "./one-off";

/** Log stream prefix of the import task's restore container (awslogs: PREFIX/CONTAINER/TASK-ID). */
export const MOVE_IMPORT_LOG_PREFIX = "restore";

/**
 * Runs the import task (runTaskScript) and prints one JSON line
 * `{"task": ARN, "exit": RC, "seconds": S, "import": REPORT|null, "ok": BOOL}` (S: the whole run,
 * the task's start to its log read: a move off aws forecasts its freeze from the prepare's), REPORT being what the task logged
 * after MARKER (row counts, sequences, objects, secret digests compared: no values). ok is the
 * task's exit code 0, which the task gives only when everything compared equal. With
 * FAIL_ON_ERROR=1 (prepare) a failed import fails the step; with 0 (cutover) it is reported.
 */
export function moveImportRunScript(marker: string, run: RunTaskOptions & { task?: "import" | "export" } = {}): string {
  if (!/^[A-Z_]+$/.test(marker)) throw new Error("marker must be a plain upper-case word");
  // The export of a move off aws runs alike (from-aws-steps.ts): the same line, under its own name.
  const task = run.task ?? "import";
  return `set -uo pipefail
: "\${LOG_STREAM_PREFIX:?}" "\${FAIL_ON_ERROR:?}"
started=$(date +%s)
log=$(
exec 2>&1
${runTaskScript(run)})
rc=$?
printf '%s\\n' "$log" >&2
task=$(printf '%s\\n' "$log" | sed -n 's/^started \\(arn:[^ ]*\\) .*/\\1/p' | head -n 1)
line=
# The task's log reaches CloudWatch a few seconds after it stopped.
for try in 1 2 3 4 5 6; do
  [ -n "$task" ] || break
  line=$(aws logs get-log-events --region "$AWS_REGION" --log-group-name "$LOG_GROUP" \\
    --log-stream-name "$LOG_STREAM_PREFIX/$CONTAINER/\${task##*/}" --start-from-head \\
    --query "events[?starts_with(message, '${marker} ')] | [-1].message" --output text 2>/dev/null) || line=
  case $line in "${marker} {"*) break ;; esac
  line=
  [ "$try" -eq 6 ] || sleep 5
done
report=\${line#"${marker} "}
[ -n "$line" ] || report=null
ok=false
[ "$rc" -ne 0 ] || ok=true
printf '{"task": "%s", "exit": %s, "seconds": %s, "${task}": %s, "ok": %s}\\n' "$task" "$rc" "$(($(date +%s) - started))" "$report" "$ok"
if [ "$ok" != true ] && [ "$FAIL_ON_ERROR" = 1 ]; then
  echo "the move's ${task} task failed (exit $rc): ${task === "import" ? "nothing changed on the old side; fix the cause" : "nothing of the old side changed; fix the cause"} (aws logs tail $LOG_GROUP --region $AWS_REGION) and run pulumi up again" >&2
  exit 1
fi
`;
}

/** `down`: every service of SERVICES ("name=count ...") to 0 tasks, without waiting; a failure is only logged. */
export const SCALE_DOWN = `down() {
  for s in $SERVICES; do
    aws ecs update-service --region "$AWS_REGION" --cluster "$CLUSTER" --service "\${s%%=*}" --desired-count 0 --query service.serviceName --output text >&2 || true
  done
}`;

/**
 * Scales the services in SERVICES ("name=count ...") once IMPORT_REPORT (moveImportRunScript's
 * line) says ok, and waits until they are stable and their target groups (TARGET_GROUPS) have a
 * healthy target (SCALE, as the freeze's undo brings services back): the held requests go to the
 * load balancer next. Prints `{"import": REPORT, "scaled": BOOL, "ok": BOOL}`
 * and exits 0 either way; when anything fails the services go back to 0 tasks (no worker runs
 * beside the old side's, which serves on).
 */
export function moveScaleScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${CLUSTER:?}" "\${SERVICES:?}" "\${IMPORT_REPORT:?}"
result() { printf '{"import": %s, "scaled": %s, "ok": %s}\\n' "$IMPORT_REPORT" "$1" "$1"; }
${SCALE_DOWN}
${SCALE}
case $IMPORT_REPORT in
  *'"ok": true}') ;;
  *) echo "the import did not succeed: aws's backend and worker stay at 0 tasks" >&2; result false; exit 0 ;;
esac
if ! scale declared; then
  echo "$SERVICES: not stable at their counts, or no healthy target for them: back to 0 tasks" >&2; down; result false; exit 0
fi
echo "scaled $SERVICES: stable, and the load balancer sends them requests" >&2
result true
`;
}
