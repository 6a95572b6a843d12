// The one-off tasks that must finish before the backend and worker roll:
// db-setup (the app role and database, as the RDS master), then migrate. Each is
// a local command that starts the task with `aws ecs run-task` and waits for its
// exit code (one-off.ts); it only ever sees ids and ARNs.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./cluster";
import { Database } from "./database";
import { Network } from "./network";
import { RunTaskEnv, runTaskScript } from "./one-off";
import { AwsScope } from "./scope";
import { AppSecrets } from "./secrets";
import { SecurityGroups } from "./security-groups";
import { TaskDefinitions } from "./task-definitions";

export interface MigrationRuns {
  dbSetup: command.local.Command;
  /** The services that use the database depend on it. */
  migrate: command.local.Command;
}

export interface MigrationInputs {
  cluster: Cluster;
  taskDefs: TaskDefinitions;
  network: Network;
  groups: SecurityGroups;
  database: Database;
  appSecrets: AppSecrets;
}

/**
 * The environment runTaskScript reads to start `taskDefinition` in the app's subnets and security
 * group (ids and ARNs only: a task reads its secrets inside AWS). The move's import runs the same way.
 */
export function runTaskEnvironment(
  scope: AwsScope,
  run: { cluster: Cluster; network: Network; groups: SecurityGroups },
  taskDefinition: pulumi.Input<string>,
  container: string,
  logGroup: pulumi.Input<string>,
): Record<keyof RunTaskEnv, pulumi.Input<string>> {
  const { taskSubnets, assignPublicIp } = run.network;
  return {
    AWS_REGION: scope.cfg.region,
    CLUSTER: run.cluster.cluster.arn,
    TASK_DEFINITION: taskDefinition,
    CONTAINER: container,
    SUBNETS: pulumi.all(taskSubnets.map((s) => s.id)).apply((ids) => ids.join(",")),
    SECURITY_GROUPS: run.groups.app.id,
    ASSIGN_PUBLIC_IP: assignPublicIp ? "ENABLED" : "DISABLED",
    LOG_GROUP: logGroup,
  };
}

export function createMigrationRuns(scope: AwsScope, m: MigrationInputs): MigrationRuns {
  const { parent } = scope;
  const oneOff = (f: "db-setup" | "migrate", container: string, triggers: pulumi.Input<unknown>[], dependsOn: pulumi.Resource[]) =>
    new command.local.Command(
      `run-${f}`,
      {
        interpreter: ["/bin/bash", "-c"],
        create: runTaskScript(),
        environment: runTaskEnvironment(scope, m, m.taskDefs[f].arn, container, m.cluster.logGroups[f].name),
        triggers,
      },
      { parent, dependsOn },
    );
  const dbSetup = oneOff("db-setup", "db-setup", [m.taskDefs["db-setup"].arn, m.appSecrets.appPasswordVersion.id], [m.database.db, ...m.appSecrets.versions]);
  // Re-runs whenever the backend image or task definition changes; Drizzle skips applied migrations.
  const migrate = oneOff("migrate", "migrate", [m.taskDefs.migrate.arn, m.taskDefs.backend.arn], [dbSetup]);
  return { dbSetup, migrate };
}
