// A move off aws whose cutover failed before the new host served: the deploying machine undoes it
// in the same run, so no request waits on the new host for an operator (a request is held 600 s
// at most). The old backend and worker get their counts back and the every-request rule stops
// matching; the new host's `bin/move-export --give-back` then sends what it kept to the load
// balancer and fails the run with what to do next.
import { SCALE } from "./move-freeze";
import { ruleOffFunction } from "./move-forward";

/**
 * Environment: AWS_REGION, CLUSTER, SERVICES ("name=count ..."), LISTENER_ARN, PRIORITY (the
 * every-request rule's), SETTLE_SECONDS, CUTOVER (the last line `bin/move-import --from-s3
 * --start-app --report-failure` printed). Only a failure before the new host served
 * (`"served":false`) is undone: a new host that served holds writes the old side lacks. Prints
 * `{"cutover": CUTOVER, "undone": BOOL}` and exits 0 either way (the new host's give-back step
 * reads it and fails the run when the cutover did not serve).
 */
export function moveCutoverUndoScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${CLUSTER:?}" "\${SERVICES:?}" "\${LISTENER_ARN:?}" "\${PRIORITY:?}" "\${SETTLE_SECONDS:?}" "\${CUTOVER:?}"
${SCALE}
${ruleOffFunction()}
cutover=$CUTOVER
case $cutover in "{"*"}") ;; *) cutover=null ;; esac
result() { printf '{"cutover": %s, "undone": %s}\\n' "$cutover" "$1"; }
case $CUTOVER in
  *'"served":false'*) ;;
  *) echo "the new host serves: nothing to undo" >&2; result false; exit 0 ;;
esac
echo "the cutover failed before the new host served: the old backend and worker get their counts back" >&2
if ! scale declared; then
  echo "the old backend and worker did not turn stable at their counts ($SERVICES): the every-request rule stays, the new host keeps holding" >&2
  result false
  exit 0
fi
if ! rule_off; then
  echo "the old backend and worker serve, but the load balancer still forwards every request to the new host, which holds them" >&2
  result false
  exit 0
fi
echo "undone: the old side serves again; the new host sends what it kept to the load balancer next" >&2
result true
`;
}
