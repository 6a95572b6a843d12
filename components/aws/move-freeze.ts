// Pure scripts the deploying machine runs (command.local.Command) with ids and ARNs only in
// their environment: the write freeze of an aws side (backend and worker to 0 tasks once the load
// balancer sends every request to the host that holds them: the old side at a move off aws's
// cutover, the new side at a rollback's copy back onto a host) and, on a rollback off aws, its
// end (the declared task counts again).
import { shellQuote } from "../shared/host";
import { ruleFunctions } from "./move-forward";

/** Seconds between the every-request listener rule's creation and the freeze: ALB rule changes take a few seconds to apply everywhere, and requests already sent to the old backend finish. */
export const MOVE_FREEZE_SETTLE_SECONDS = 15;

/** Seconds `in_service` waits for a healthy target in each target group (ECS's own waits allow 30 minutes; a started backend answers in seconds). */
export const IN_SERVICE_MAX_SECONDS = 600;

/**
 * \`in_service\`: returns once each target group of TARGET_GROUPS (space-separated ARNs; none:
 * at once) has a healthy target, polling every 2 s, or fails after IN_SERVICE_MAX_SECONDS. ECS
 * counts a task as running (\`services-stable\`) once its containers run; the load balancer sends
 * it requests only after its first passed health check, and while no target of the group has
 * passed one it answers 503 itself. Requests are sent to aws's services only from here on.
 */
export const IN_SERVICE = `in_service() {
  local tg i states
  for tg in \${TARGET_GROUPS:-}; do
    for ((i = 0; ; i++)); do
      states=$(aws elbv2 describe-target-health --region "$AWS_REGION" --target-group-arn "$tg" \\
        --query 'TargetHealthDescriptions[].TargetHealth.State' --output text) || states=
      if printf '%s\\n' "$states" | grep -qw healthy; then
        echo "$tg: a target is healthy after $((2 * i)) s" >&2
        break
      fi
      if [ "$((2 * i))" -ge ${IN_SERVICE_MAX_SECONDS} ]; then
        echo "$tg: no healthy target after ${IN_SERVICE_MAX_SECONDS} s (aws elbv2 describe-target-health --target-group-arn $tg)" >&2
        return 1
      fi
      sleep 2
    done
  done
}`;

/**
 * Shared by the freeze, the unfreeze and the cutover's undo: `scale declared|zero` sets every
 * service of SERVICES ("name=count ...") and waits until stable; at their declared counts, also
 * until their target groups have a healthy target (IN_SERVICE).
 */
export const SCALE = `${IN_SERVICE}
scale() {
  local which=$1 s names=()
  for s in $SERVICES; do
    local count=\${s#*=}
    [ "$which" = declared ] || count=0
    aws ecs update-service --region "$AWS_REGION" --cluster "$CLUSTER" --service "\${s%%=*}" --desired-count "$count" \\
      --query service.serviceName --output text >&2 || return 1
    names+=("\${s%%=*}")
  done
  # ECS's waiter gives up after 10 minutes: up to 30 (a backend drains for its stop grace first).
  local tries=0
  until aws ecs wait services-stable --region "$AWS_REGION" --cluster "$CLUSTER" --services "\${names[@]}"; do
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || return 1
  done
  [ "$which" != declared ] || in_service
}`;

/** What a freeze that did not happen prints instead of failing: the undo follows in the same run (move-undo.ts). */
export const FREEZE_NOT_FROZEN = '{"frozen": false}';

/**
 * The write freeze of an aws side (the old side of a move off aws; the new side of a copy back).
 * Environment: AWS_REGION, CLUSTER, SERVICES ("name=count ..." of its backend and worker),
 * SETTLE_SECONDS, LISTENER_ARN and PRIORITY (the every-request rule's). The rule matches every
 * request first (an undo of an earlier attempt turned it off; the first attempt finds it so),
 * then the settle, then the services go to 0 tasks. Prints `{"freeze_started": EPOCH,
 * "settle_seconds": N}` (from then on new requests wait on the host that holds them). When the
 * rule cannot be turned on (nothing else touched) or the services cannot be stopped (set back to
 * their counts), it prints FREEZE_NOT_FROZEN and succeeds: no export runs, and the undo step after
 * the host's import puts the rule and the services back.
 */
export function moveFreezeScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${CLUSTER:?}" "\${SERVICES:?}" "\${SETTLE_SECONDS:?}" "\${LISTENER_ARN:?}" "\${PRIORITY:?}"
${SCALE}
${ruleFunctions()}
started=$(date +%s)
if ! rule_on; then
  echo "the load balancer does not send every request to the host that holds them: nothing frozen, this side serves on" >&2
  echo ${shellQuote(FREEZE_NOT_FROZEN)}
  exit 0
fi
echo "waiting \${SETTLE_SECONDS} s: the load balancer's rule to the holding host applies, requests sent to this side's backend finish" >&2
sleep "$SETTLE_SECONDS"
if ! scale zero; then
  echo "could not stop the backend and worker: setting them back to their counts" >&2
  scale declared || echo "could not set them back either: run aws ecs update-service for: $SERVICES" >&2
  echo ${shellQuote(FREEZE_NOT_FROZEN)}
  exit 0
fi
echo "backend and worker stopped: no write reaches this side's database" >&2
printf '{"freeze_started": %s, "settle_seconds": %s}\\n' "$started" "$SETTLE_SECONDS"
`;
}

/** A rollback: the old side's backend and worker back at their declared counts (stable), before its rules to the new host go. */
export function moveUnfreezeScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${CLUSTER:?}" "\${SERVICES:?}"
${SCALE}
if ! scale declared; then
  echo "the old backend and worker did not turn stable at their counts ($SERVICES): look at aws ecs describe-services, then pulumi up again" >&2
  exit 1
fi
echo '{"old_side": "serving"}'
`;
}
