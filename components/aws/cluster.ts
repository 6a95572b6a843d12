// The ECS cluster and what every task in it shares: a log group per family, the
// trust policy that lets ECS tasks assume a role, and the app's task role (no
// AWS permissions: S3 goes through the static keys; ECS Exec only when enabled).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudName } from "../../core/naming";
import { ecsExecPolicy, ecsTasksAssumeRolePolicy } from "./iam-policies";
import { AwsScope } from "./scope";
import { FAMILIES, Family } from "./task-specs";

export interface Cluster {
  cluster: aws.ecs.Cluster;
  /** `/freshtrack/<stack>/<family>`. */
  logGroups: Record<Family, aws.cloudwatch.LogGroup>;
  /** Trust policy JSON: ECS tasks of this account may assume the role. */
  assumeRolePolicy: pulumi.Output<string>;
  /** The role the app's containers run with. */
  taskRole: aws.iam.Role;
}

export function createCluster(scope: AwsScope): Cluster {
  const { cfg, stack, identity } = scope;
  const o = scope.opts;
  const cluster = new aws.ecs.Cluster(
    "cluster",
    { name: cloudName("cluster"), settings: [{ name: "containerInsights", value: cfg.containerInsights ? "enabled" : "disabled" }] },
    o(),
  );
  const logGroups = Object.fromEntries(
    FAMILIES.map((f) => [f, new aws.cloudwatch.LogGroup(`logs-${f}`, { name: `/freshtrack/${stack}/${f}`, retentionInDays: cfg.logRetentionDays }, o())]),
  ) as Record<Family, aws.cloudwatch.LogGroup>;
  const assumeRolePolicy = identity.accountId.apply((id) => JSON.stringify(ecsTasksAssumeRolePolicy(id)));
  const taskRole = new aws.iam.Role("task", { assumeRolePolicy, description: "FreshTrack app tasks: no AWS permissions (S3 uses static keys)" }, o());
  if (cfg.ecsExec) new aws.iam.RolePolicy("task-ecs-exec", { role: taskRole.id, policy: JSON.stringify(ecsExecPolicy()) }, o());
  return { cluster, logGroups, assumeRolePolicy, taskRole };
}
