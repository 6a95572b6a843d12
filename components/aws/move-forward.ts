// A move off aws onto a host: the forwarder behind the OLD side's load balancer. An ALB cannot
// send a request to an address outside its VPC, so a small ECS task runs the hosts' request
// holder (compose/files/move/hold.js) with a fixed target (FT_HOLD_TARGET): `forward` sends what
// reaches it to https://NEW:443, `acme` to http://NEW:80 (the new host's Caddy answers its ACME
// HTTP-01 challenges while DNS still names the load balancer: Let's Encrypt follows the ALB's
// redirect to HTTPS and ignores the certificate there). Host, path and body travel unchanged; TLS
// is verified for the request's host name against the public CAs. Pure: plain data in, JSON and
// rule specs out (move-forward-service.ts declares the resources).
import * as fs from "fs";
import * as path from "path";
import { STATIC_FILES_DIR } from "../../compose/bundle";
import { registryOf } from "../../core/images";
import { ALB_IDLE_TIMEOUT } from "./constants";
import { ContainerDefinition } from "./container-definitions";
import { SCALE_DOWN } from "./move-run";

/** The holder as the hosts' bundles ship it: the task runs this very file. */
export const HOLD_JS_PATH = path.join(STATIC_FILES_DIR, "move", "hold.js");
/** The holder's own health path (as bin/lib/hold.sh sets it): the target groups' health check. */
export const MOVE_FORWARD_HEALTH = "/.freshtrack-move/hold-health";
/** The holder's limit per request: it has its target from the start, so this only bounds dialling a new host that is down. */
export const MOVE_FORWARD_MAX_MS = 110000;
/**
 * How long the new host's holder keeps a request during a move off aws (bin/move-forward --hold:
 * FT_MOVE_HOLD_MS in bin/lib/hold.sh, kept equal by a test): the freeze spans stopping the old
 * services and two one-off tasks, minutes rather than seconds.
 */
export const NEW_HOST_HOLD_MS = 600000;
/** The forwarder waits for an answer longer than the new host may hold the request. */
export const MOVE_FORWARD_UPSTREAM_TIMEOUT_MS = NEW_HOST_HOLD_MS + 60000;
/** Longer than the ALB keeps an idle connection to a target: the ALB, never the forwarder, closes it (no 502 on a reused connection). */
export const MOVE_FORWARD_KEEPALIVE_MS = (ALB_IDLE_TIMEOUT + 5) * 1000;
/** The two containers: their port in the task and where they send requests on the new host. */
export const MOVE_FORWARD_CONTAINERS = {
  forward: { name: "forward", port: 3000, scheme: "https", newPort: 443 },
  acme: { name: "acme", port: 3001, scheme: "http", newPort: 80 },
} as const;
export type MoveForwardContainer = keyof typeof MOVE_FORWARD_CONTAINERS;
/** Fargate's smallest size: two Node processes that only pass bytes on. */
export const MOVE_FORWARD_TASK_SIZE = { cpu: 256, memory: 512 };

/** hold.js, read at plan time (the task has no file of ours: `node -e` runs the text). */
export function holdSource(): string {
  return fs.readFileSync(HOLD_JS_PATH, "utf8");
}

export interface MoveForwardTaskInput {
  /** The backend's image, pinned (node is in it). */
  image: string;
  /** The new host's public IPv4 or DNS name. */
  newAddress: string;
  logGroup: string;
  region: string;
  /** Private registry: an image on `server` is pulled with the login in Secrets Manager secret `secretArn`. */
  registry?: { server: string; secretArn: string };
}

/** `{"url": ...}` of one container's FT_HOLD_TARGET (an IPv6 address in brackets). */
export function moveForwardTarget(which: MoveForwardContainer, newAddress: string): string {
  const c = MOVE_FORWARD_CONTAINERS[which];
  const host = newAddress.includes(":") ? `[${newAddress}]` : newAddress;
  return JSON.stringify({ url: `${c.scheme}://${host}:${c.newPort}` });
}

/** Container definitions JSON of the forwarder task: same input, same bytes. */
export function moveForwardContainerDefinitions(i: MoveForwardTaskInput): string {
  const source = holdSource();
  const def = (which: MoveForwardContainer): ContainerDefinition => {
    const c = MOVE_FORWARD_CONTAINERS[which];
    const env: Record<string, string> = {
      FT_HOLD_HEALTH: MOVE_FORWARD_HEALTH,
      FT_HOLD_KEEPALIVE_MS: String(MOVE_FORWARD_KEEPALIVE_MS),
      FT_HOLD_MAX_MS: String(MOVE_FORWARD_MAX_MS),
      FT_HOLD_PORT: String(c.port),
      FT_HOLD_UPSTREAM_TIMEOUT_MS: String(MOVE_FORWARD_UPSTREAM_TIMEOUT_MS),
      FT_HOLD_TARGET: moveForwardTarget(which, i.newAddress),
    };
    return {
      name: c.name,
      image: i.image,
      repositoryCredentials: i.registry && registryOf(i.image) === i.registry.server ? { credentialsParameter: i.registry.secretArn } : undefined,
      essential: true,
      cpu: MOVE_FORWARD_TASK_SIZE.cpu / 2,
      memoryReservation: MOVE_FORWARD_TASK_SIZE.memory / 4,
      // Our own entry point, as bin/lib/hold.sh starts the holder (`--entrypoint node`): the image's must not wrap it.
      entryPoint: ["node"],
      command: ["-e", source],
      user: "65534",
      portMappings: [{ containerPort: c.port, hostPort: c.port, protocol: "tcp" }],
      environment: Object.keys(env)
        .sort()
        .map((name) => ({ name, value: env[name] })),
      secrets: [],
      mountPoints: [],
      volumesFrom: [],
      systemControls: [],
      readonlyRootFilesystem: true,
      // The load balancer has already drained the task when ECS stops it: nothing is left to finish.
      stopTimeout: 10,
      linuxParameters: { initProcessEnabled: true },
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": i.logGroup, "awslogs-region": i.region, "awslogs-stream-prefix": c.name },
        secretOptions: [],
      },
    };
  };
  return JSON.stringify([def("acme"), def("forward")]);
}

/** A listener rule of the HTTPS listener to one of the forwarder's target groups. */
export interface MoveForwardRule {
  name: "move-acme" | "move-forward-all";
  /** Below every rule of routing.ts: evaluated before the app's own. */
  priority: number;
  pathPatterns: string[];
  target: MoveForwardContainer;
  /**
   * Set at creation only: steps turn the rule off (moveForwardOffScript, the cutover's undo) and a
   * `pulumi up --refresh` must not turn it on again while the host sends what it kept to the load
   * balancer (the two would pass requests back and forth).
   */
  conditionsSetOnce?: boolean;
}

/** "acme": ACME challenges only (the new host gets its certificate); "all": every request too (cutover on). */
export type MoveForwardRuleSet = "acme" | "all";

const ACME_RULE: MoveForwardRule = { name: "move-acme", priority: 1, pathPatterns: ["/.well-known/acme-challenge/*"], target: "acme" };
/** The every-request rule's priority (a rollback's copy back turns it off by it: moveForwardOffScript). */
export const MOVE_FORWARD_ALL_PRIORITY = 2;
const ALL_RULE: MoveForwardRule = {
  name: "move-forward-all",
  priority: MOVE_FORWARD_ALL_PRIORITY,
  pathPatterns: ["/*"],
  target: "forward",
  conditionsSetOnce: true,
};

export function moveForwardRules(which: MoveForwardRuleSet): MoveForwardRule[] {
  return which === "acme" ? [ACME_RULE] : [ACME_RULE, ALL_RULE];
}

/** The rule set of a move phase: prepare the ACME challenges, cutover and retire everything; none otherwise (rollback). */
export function moveForwardRuleSet(phase: string): MoveForwardRuleSet | undefined {
  return phase === "prepare" ? "acme" : phase === "cutover" || phase === "retire" ? "all" : undefined;
}

/**
 * A rule that no request matches (a host name under .invalid, RFC 2606): ECS refuses a service
 * whose target group no listener uses, and the load balancer health-checks only such groups. It
 * attaches both groups before the service starts, so they turn healthy before a real rule exists.
 */
export const MOVE_FORWARD_STANDBY_RULE = { name: "move-forward-standby", priority: 3, hostHeader: "standby.freshtrack-move.invalid" } as const;

/**
 * Waits until every target of TARGET_GROUPS (ARNs, space-separated) is healthy in its group
 * (AWS_REGION): a rule to a group without a healthy target answers 503. ECS's steady state of a
 * new service may come before the load balancer's first passing checks.
 */
export function moveForwardReadyScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${TARGET_GROUPS:?}"
for tg in $TARGET_GROUPS; do
  # The waiter gives up after 10 minutes: up to 20.
  tries=0
  until aws elbv2 wait target-in-service --region "$AWS_REGION" --target-group-arn "$tg"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 2 ]; then
      echo "the move's forwarder is not healthy in $tg: aws elbv2 describe-target-health --target-group-arn $tg, and its log group; no rule to it was created" >&2
      exit 1
    fi
  done
done
echo "the move's forwarder is healthy in its target groups" >&2
`;
}

/** A host name no request carries (RFC 2606 .invalid): the every-request rule's condition once turned off. */
export const MOVE_FORWARD_OFF_HOST = "off.freshtrack-move.invalid";

/**
 * Shell functions over the every-request rule (PRIORITY on LISTENER_ARN, in AWS_REGION); each
 * returns 1 (said on stderr) when the rule cannot be read or changed.
 * - `rule_off`: it stops matching (its condition becomes a host name no request carries), then
 *   SETTLE_SECONDS for the load balancer to apply it. No rule: nothing forwards, nothing to do.
 * - `rule_on`: it matches every request again, as declared (a step turned it off before: the
 *   undo of an earlier attempt). No rule: returns 1 (nothing would send requests to the holder).
 */
export function ruleFunctions(): string {
  const off = JSON.stringify([{ Field: "host-header", HostHeaderConfig: { Values: [MOVE_FORWARD_OFF_HOST] } }]);
  const on = JSON.stringify([{ Field: "path-pattern", PathPatternConfig: { Values: ALL_RULE.pathPatterns } }]);
  return `rule_arn() {
  rule=$(aws elbv2 describe-rules --region "$AWS_REGION" --listener-arn "$LISTENER_ARN" --query "Rules[?Priority=='$PRIORITY'].RuleArn" --output text) ||
    { echo "cannot read the rules of $LISTENER_ARN" >&2; return 1; }
  [ "$rule" != None ] || rule=
}
rule_off() {
  local rule
  rule_arn || return 1
  if [ -z "$rule" ]; then
    echo "no rule at priority $PRIORITY of $LISTENER_ARN: nothing forwards to the new host" >&2
    return 0
  fi
  aws elbv2 modify-rule --region "$AWS_REGION" --rule-arn "$rule" --conditions '${off}' --query 'Rules[0].RuleArn' --output text >&2 ||
    { echo "cannot turn the every-request rule $rule off" >&2; return 1; }
  echo "the every-request rule matches no request now; waiting \${SETTLE_SECONDS} s for the load balancer to apply it" >&2
  sleep "$SETTLE_SECONDS"
}
rule_on() {
  local rule
  rule_arn || return 1
  [ -n "$rule" ] || { echo "no rule at priority $PRIORITY of $LISTENER_ARN: nothing sends requests to the host that holds them" >&2; return 1; }
  aws elbv2 modify-rule --region "$AWS_REGION" --rule-arn "$rule" --conditions '${on}' --query 'Rules[0].RuleArn' --output text >&2 ||
    { echo "cannot turn the every-request rule $rule on" >&2; return 1; }
}`;
}

/**
 * A rollback's copy back off aws, once aws's backend and worker serve the copied data again: the
 * every-request rule stops matching (ruleFunctions' rule_off), so what reaches the load balancer goes to
 * the app again, and so do the requests the new host kept (its conclude sends them there next):
 * nothing loops between the load balancer and the new host. The rule itself goes at the end of
 * the run (Pulumi's delete). Environment: AWS_REGION, LISTENER_ARN, PRIORITY (the rule's),
 * CLUSTER, SERVICES, SETTLE_SECONDS, REPORT (the scale step's result). Not ok: prints REPORT
 * unchanged. Ok: prints {"copy_back": REPORT, "forward_off": true, "ok": true} once the rule is
 * off and SETTLE_SECONDS passed. A rule that cannot be turned off sets the services back to 0
 * tasks and prints "ok": false (the conclude then ends the new host's freeze: it serves on).
 */
export function moveForwardOffScript(): string {
  return `set -uo pipefail
: "\${AWS_REGION:?}" "\${LISTENER_ARN:?}" "\${PRIORITY:?}" "\${CLUSTER:?}" "\${SERVICES:?}" "\${SETTLE_SECONDS:?}" "\${REPORT:?}"
case $REPORT in
  *'"ok": true}') ;;
  *) echo "the copy back did not succeed: the every-request rule stays" >&2; printf '%s\\n' "$REPORT"; exit 0 ;;
esac
${SCALE_DOWN}
${ruleFunctions()}
if ! rule_off; then
  echo "aws's backend and worker go back to 0 tasks, the new host serves on" >&2
  down
  printf '{"copy_back": %s, "forward_off": false, "ok": false}\\n' "$REPORT"
  exit 0
fi
printf '{"copy_back": %s, "forward_off": true, "ok": true}\\n' "$REPORT"
`;
}
