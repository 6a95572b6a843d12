// aws as a move's OLD side: the forwarder behind its load balancer (move-forward.ts holds the
// pure parts) and the listener rules that send requests to it. Every resource is new and goes to
// the scope's parent (the move component): the old side's own resources, its security groups and
// listener included, stay as they are; rules of their own are added beside them.
// Order: security group and rules -> target groups -> standby rule (ECS needs the groups attached)
// -> task definition -> service (steady) -> `declareRules`: both groups healthy -> the rules.
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { cloudName } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { Cluster } from "./cluster";
import { executionRolePolicy } from "./iam-policies";
import { Listeners, LoadBalancer } from "./load-balancer";
import {
  MOVE_FORWARD_CONTAINERS,
  MOVE_FORWARD_HEALTH,
  MOVE_FORWARD_STANDBY_RULE,
  MOVE_FORWARD_TASK_SIZE,
  MoveForwardContainer,
  MoveForwardRuleSet,
  moveForwardContainerDefinitions,
  moveForwardReadyScript,
  moveForwardRules,
} from "./move-forward";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { RegistryLogin } from "./secrets";
import { SecurityGroups, securityGroupRule } from "./security-groups";

/** Plain handles of the old aws side. */
export interface MoveForwardInputs {
  cluster: Cluster;
  network: Network;
  groups: SecurityGroups;
  lb: LoadBalancer;
  listeners: Listeners;
  digests: ImageDigests;
  /** The new host's public IPv4 or DNS name. */
  newAddress: pulumi.Input<string>;
  /** The old side's private registry login (AppSecrets.registryLogin), when the backend image is pulled with it. */
  registryLogin?: RegistryLogin;
  /** Shorthand: declares these rules at once (as `declareRules(rules)`). */
  rules?: MoveForwardRuleSet;
}

export interface MoveForwardAccess {
  service: aws.ecs.Service;
  serviceName: pulumi.Output<string>;
  targetGroupArns: Record<MoveForwardContainer, pulumi.Output<string>>;
  /** The rules `rules` declared at once (none without it). */
  listenerRules: aws.lb.ListenerRule[];
  /**
   * Declares the rules of `which` (once per program run), after `after` and once both target
   * groups hold a healthy forwarder; returns them (a later step can depend on them).
   */
  declareRules(which: MoveForwardRuleSet, after?: pulumi.Resource[]): aws.lb.ListenerRule[];
}

export function createMoveForward(scope: AwsScope, m: MoveForwardInputs): MoveForwardAccess {
  const { cfg, config, stack } = scope;
  const o = scope.opts;
  const albSg = m.groups.alb;

  const sg = new aws.ec2.SecurityGroup(
    "move-forward",
    { vpcId: m.network.vpc.id, description: "FreshTrack move forwarder: from the ALB, to the new host", tags: { Name: cloudName("move-forward") } },
    o(),
  );
  const { forward, acme } = MOVE_FORWARD_CONTAINERS;
  const sgRules = [
    securityGroupRule(scope, "ingress", "move-forward-from-alb", sg, forward.port, { sg: albSg }, "forwarder from the ALB"),
    securityGroupRule(scope, "ingress", "move-acme-from-alb", sg, acme.port, { sg: albSg }, "ACME forwarder from the ALB"),
    // Image pulls, logs and the new host's HTTPS; its HTTP for the ACME challenges.
    securityGroupRule(scope, "egress", "move-forward-https", sg, 443, { cidr: "0.0.0.0/0" }, "HTTPS out"),
    securityGroupRule(scope, "egress", "move-forward-http", sg, 80, { cidr: "0.0.0.0/0" }, "the new host's HTTP (ACME challenges)"),
    // New rules on the ALB's group; the group itself is not touched.
    securityGroupRule(scope, "egress", "alb-to-move-forward", albSg, forward.port, { sg }, "to the move's forwarder"),
    securityGroupRule(scope, "egress", "alb-to-move-acme", albSg, acme.port, { sg }, "to the move's ACME forwarder"),
  ];

  const targetGroup = (which: MoveForwardContainer) =>
    new aws.lb.TargetGroup(
      `move-${which}`,
      {
        port: MOVE_FORWARD_CONTAINERS[which].port,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: m.network.vpc.id,
        // Short: a forwarder is replaced only when the new address or the image changes, and a request held longer is answered 503 by then anyway.
        deregistrationDelay: 30,
        healthCheck: {
          path: MOVE_FORWARD_HEALTH,
          port: "traffic-port",
          protocol: "HTTP",
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      o(),
    );
  const tgs = { forward: targetGroup("forward"), acme: targetGroup("acme") };
  const https = m.listeners.https;
  const standby = new aws.lb.ListenerRule(
    MOVE_FORWARD_STANDBY_RULE.name,
    {
      listenerArn: https.arn,
      priority: MOVE_FORWARD_STANDBY_RULE.priority,
      conditions: [{ hostHeader: { values: [MOVE_FORWARD_STANDBY_RULE.hostHeader] } }],
      actions: [
        {
          type: "forward",
          forward: {
            targetGroups: [
              { arn: tgs.acme.arn, weight: 1 },
              { arn: tgs.forward.arn, weight: 1 },
            ],
          },
        },
      ],
    },
    o(),
  );

  const logGroup = `/freshtrack/${stack}/move-forward`;
  const logs = new aws.cloudwatch.LogGroup("logs-move-forward", { name: logGroup, retentionInDays: cfg.logRetentionDays }, o());
  const registry = m.registryLogin;
  const registryArn = registry ? registry.secret.arn : pulumi.output("");
  const execRole = new aws.iam.Role(
    "exec-move-forward",
    { assumeRolePolicy: m.cluster.assumeRolePolicy, description: "FreshTrack move forwarder: pull, log" },
    o(),
  );
  const execPolicy = new aws.iam.RolePolicy(
    "exec-move-forward",
    {
      role: execRole.id,
      policy: pulumi.all([logs.arn, registryArn]).apply(([l, r]) => JSON.stringify(executionRolePolicy({ secretValueFroms: r ? [r] : [], logGroupArn: l }))),
    },
    o(),
  );
  // No task role: the forwarder calls no AWS API.
  const task = new aws.ecs.TaskDefinition(
    "move-forward",
    {
      family: cloudName("move-forward"),
      cpu: String(MOVE_FORWARD_TASK_SIZE.cpu),
      memory: String(MOVE_FORWARD_TASK_SIZE.memory),
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      // The backend's image, so the backend's architecture.
      runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
      executionRoleArn: execRole.arn,
      containerDefinitions: pulumi.all([m.digests.pin(config.app.images.backend), m.newAddress, registryArn]).apply(([image, newAddress, r]) =>
        moveForwardContainerDefinitions({
          image,
          newAddress,
          logGroup,
          region: cfg.region,
          registry: registry && r ? { server: registry.server, secretArn: r } : undefined,
        }),
      ),
    },
    o({ dependsOn: [execPolicy, ...(registry ? [registry.version] : [])] }),
  );

  const service = new aws.ecs.Service(
    "move-forward",
    {
      name: "move-forward",
      cluster: m.cluster.cluster.arn,
      taskDefinition: task.arn,
      desiredCount: 1,
      launchType: "FARGATE",
      platformVersion: "1.4.0",
      networkConfiguration: { subnets: m.network.taskSubnets.map((s) => s.id), securityGroups: [sg.id], assignPublicIp: m.network.assignPublicIp },
      loadBalancers: (["forward", "acme"] as const).map((w) => ({
        targetGroupArn: tgs[w].arn,
        containerName: MOVE_FORWARD_CONTAINERS[w].name,
        containerPort: MOVE_FORWARD_CONTAINERS[w].port,
      })),
      // A new forwarder serves before the old one stops (a changed new address); a failing one rolls back.
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriodSeconds: 30,
      propagateTags: "SERVICE",
      waitForSteadyState: true,
    },
    // Reachable by the ALB's health checks from its first task on.
    o({ dependsOn: [standby, ...sgRules] }),
  );

  const declareRules = (which: MoveForwardRuleSet, after: pulumi.Resource[] = []): aws.lb.ListenerRule[] => {
    // Re-runs when the rule set changes: every request goes to the forwarder only once it is healthy now.
    const ready = new command.local.Command(
      "move-forward-ready",
      {
        interpreter: ["/bin/bash", "-c"],
        create: moveForwardReadyScript(),
        environment: pulumi.all([tgs.forward.arn, tgs.acme.arn]).apply(([f, a]) => ({ AWS_REGION: cfg.region, TARGET_GROUPS: `${f} ${a}` })),
        logging: "stderr",
        triggers: [which],
      },
      { parent: scope.parent, dependsOn: [service, ...after] },
    );
    return moveForwardRules(which).map(
      (r) =>
        new aws.lb.ListenerRule(
          r.name,
          {
            listenerArn: https.arn,
            priority: r.priority,
            conditions: [{ pathPattern: { values: r.pathPatterns } }],
            actions: [{ type: "forward", targetGroupArn: tgs[r.target].arn }],
          },
          o({ dependsOn: [ready, ...after], ...(r.conditionsSetOnce ? { ignoreChanges: ["conditions"] } : {}) }),
        ),
    );
  };

  return {
    service,
    serviceName: service.name,
    targetGroupArns: { forward: tgs.forward.arn, acme: tgs.acme.arn },
    listenerRules: m.rules ? declareRules(m.rules) : [],
    declareRules,
  };
}
