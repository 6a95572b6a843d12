// An attempt that failed before the host serves, undone by the deploying machine in the same run,
// so no request waits on that host for an operator (a request is held 600 s at most): the cutover
// of a move off aws (the new host did not serve), and the copy back of a rollback of a move onto
// aws (the old host did not serve). aws's backend and worker get their counts back and the
// every-request rule stops matching; the host's `bin/move-export --give-back` then sends what it
// kept to the load balancer and fails the run with what to do next.
import { SCALE } from "./move-freeze";
import { ruleFunctions } from "./move-forward";

/**
 * Environment: AWS_REGION, CLUSTER, SERVICES ("name=count ..."), LISTENER_ARN, PRIORITY (the
 * every-request rule's), SETTLE_SECONDS, CUTOVER (the last line `bin/move-import --from-s3
 * --start-app --report-failure` printed on the host). Only a failure before the host served
 * (`"served":false`) is undone: a host that served holds writes aws lacks. Prints
 * `{"cutover": CUTOVER, "undone": BOOL}` and exits 0 either way (the host's give-back step reads
 * it and fails the run when the host did not serve).
 */
export function moveCutoverUndoScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${CLUSTER:?}" "\${SERVICES:?}" "\${LISTENER_ARN:?}" "\${PRIORITY:?}" "\${SETTLE_SECONDS:?}" "\${CUTOVER:?}"
${SCALE}
${ruleFunctions()}
cutover=$CUTOVER
case $cutover in "{"*"}") ;; *) cutover=null ;; esac
result() { printf '{"cutover": %s, "undone": %s}\\n' "$cutover" "$1"; }
case $CUTOVER in
  *'"served":false'*) ;;
  *) echo "the host serves (or had nothing to take): nothing to undo" >&2; result false; exit 0 ;;
esac
echo "the host failed before it served: aws's backend and worker get their counts back" >&2
if ! scale declared; then
  echo "aws's backend and worker did not turn stable at their counts ($SERVICES): the every-request rule stays, the host keeps holding" >&2
  result false
  exit 0
fi
if ! rule_off; then
  echo "aws's backend and worker serve, but the load balancer still forwards every request to the host, which holds them" >&2
  result false
  exit 0
fi
echo "undone: aws serves again; the host sends what it kept to the load balancer next" >&2
result true
`;
}
