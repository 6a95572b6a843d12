// The three ECS services: backend and frontend behind the ALB, the worker without.
// Rolling deploys start new tasks and wait for them to turn healthy before old
// ones stop; the backend and worker roll only after the migrations ran.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./cluster";
import { Listeners, LoadBalancer } from "./load-balancer";
import { MigrationRuns } from "./migrations";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { SecurityGroups } from "./security-groups";
import { TaskDefinitions } from "./task-definitions";

export type Services = Record<"backend" | "worker" | "frontend", aws.ecs.Service>;

/** One worker: the app's jobs must not run twice. */
export const WORKER_COUNT = 1;

export interface ServiceInputs {
  cluster: Cluster;
  taskDefs: TaskDefinitions;
  network: Network;
  groups: SecurityGroups;
  lb: LoadBalancer;
  listeners: Listeners;
  migrations: MigrationRuns;
  /**
   * A move's new side. "leave": backend and worker are created with 0 tasks (no traffic, no jobs
   * beside the old side's worker) and their count is left to the move, which scales them once the
   * final import succeeded; from retire on the declared count applies again (the same). "zero": 0
   * tasks (a rolled-back move's released side).
   */
  holdForMove?: "leave" | "zero";
}

export function createServices(scope: AwsScope, s: ServiceInputs): Services {
  const { cfg } = scope;
  const o = scope.opts;
  const { taskSubnets, assignPublicIp } = s.network;
  const { https, rules } = s.listeners;
  const { migrate } = s.migrations;
  const service = (
    f: "backend" | "worker" | "frontend",
    count: number,
    groups: aws.ec2.SecurityGroup[],
    lb: { tg: aws.lb.TargetGroup; port: number } | undefined,
    dependsOn: pulumi.Resource[],
    held?: "leave" | "zero",
  ) =>
    new aws.ecs.Service(
      f,
      {
        name: f,
        cluster: s.cluster.cluster.arn,
        taskDefinition: s.taskDefs[f].arn,
        desiredCount: held ? 0 : count,
        launchType: "FARGATE",
        platformVersion: "1.4.0",
        networkConfiguration: { subnets: taskSubnets.map((x) => x.id), securityGroups: groups.map((g) => g.id), assignPublicIp },
        loadBalancers: lb ? [{ targetGroupArn: lb.tg.arn, containerName: f, containerPort: lb.port }] : [],
        // New tasks start and turn healthy before old ones stop; a failing release rolls back by itself.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        healthCheckGracePeriodSeconds: lb ? 60 : undefined,
        enableExecuteCommand: cfg.ecsExec,
        propagateTags: "SERVICE",
        waitForSteadyState: true,
      },
      o({ dependsOn, ...(held === "leave" ? { ignoreChanges: ["desiredCount"] } : {}) }),
    );
  const held = s.holdForMove;
  const backend = service("backend", cfg.backend.count, [s.groups.app], { tg: s.lb.backendTg, port: 3000 }, [migrate, https, ...rules], held);
  const worker = service("worker", WORKER_COUNT, [s.groups.app], undefined, [migrate], held);
  const frontend = service("frontend", 1, [s.groups.frontend], { tg: s.lb.frontendTg, port: 8080 }, [https]);
  return { backend, worker, frontend };
}
