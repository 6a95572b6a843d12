// The ECS task definitions of the app: backend, worker, frontend and the one-off
// db-setup and migrate tasks (the dump's is in dump-task.ts). Their containers
// come from task-specs.ts (pure); here every image is pinned to its digest and
// each family gets its own execution role, allowed to read exactly its secrets.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { imageFor } from "../../core/images";
import { cloudName } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { Cluster } from "./cluster";
import { Database } from "./database";
import { AwsScope } from "./scope";
import { AppSecrets } from "./secrets";
import { FAMILIES, Family, familyTasks, taskSizes } from "./task-specs";

export type TaskDefinitions = Record<Family, aws.ecs.TaskDefinition>;

export interface TaskInputs {
  cluster: Cluster;
  digests: ImageDigests;
  assetsBucket: aws.s3.Bucket;
  database: Database;
  appSecrets: AppSecrets;
  /** The region's RDS root CAs (createRdsCa). */
  rdsCa: pulumi.Output<string>;
}

export function createTaskDefinitions(scope: AwsScope, t: TaskInputs): TaskDefinitions {
  const { cfg, stack } = scope;
  const app = scope.config.app;
  const o = scope.opts;
  const { logGroups, assumeRolePolicy: assume, taskRole } = t.cluster;
  const { registryLogin } = t.appSecrets;
  const pinnedApp = t.digests.pinApp(app, [app.images.backend, app.images.worker, app.images.frontend, imageFor("postgres", app.imageOverrides)]);
  const sizes = taskSizes(cfg);
  // Everything that varies per family, resolved in one place: plain strings in, canonical JSON out.
  const allArns: pulumi.Output<Record<string, string>> = pulumi.all(t.appSecrets.arns);
  const logArnList: pulumi.Output<string[]> = pulumi.all(FAMILIES.map((f) => logGroups[f].arn));
  const versionList: pulumi.Output<string[]> = pulumi.all(t.appSecrets.appVersionIds);
  const resolved = pulumi
    .all([
      pulumi.all([
        t.assetsBucket.bucket,
        allArns,
        t.database.masterSecretArn,
        t.database.db.address,
        versionList,
        logArnList,
        pinnedApp,
        registryLogin ? registryLogin.secret.arn : "",
      ]),
      t.rdsCa,
    ])
    .apply(([[bucket, arns, master, host, versions, logArnValues, pinned, registryArn], rdsCa]) =>
      familyTasks({
        stack,
        region: cfg.region,
        sizes,
        assetsBucket: bucket,
        secretArns: arns,
        masterSecretArn: master,
        dbHost: host,
        rdsCa,
        secretVersionIds: versions,
        logGroupArns: Object.fromEntries(FAMILIES.map((f, i) => [f, logArnValues[i]])) as Record<Family, string>,
        app: pinned,
        registry: registryLogin ? { server: registryLogin.server, secretArn: registryArn } : undefined,
      }),
    );

  const taskDefs = {} as TaskDefinitions;
  for (const f of FAMILIES) {
    const execRole = new aws.iam.Role(`exec-${f}`, { assumeRolePolicy: assume, description: `FreshTrack ${f}: pull, log, read its own secrets` }, o());
    const execPolicy = new aws.iam.RolePolicy(`exec-${f}`, { role: execRole.id, policy: resolved.apply((r) => r[f].policy) }, o());
    taskDefs[f] = new aws.ecs.TaskDefinition(
      f,
      {
        family: cloudName(f),
        cpu: String(sizes[f].cpu),
        memory: String(sizes[f].memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
        executionRoleArn: execRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions: resolved.apply((r) => r[f].containers),
        volumes: resolved.apply((r) => r[f].volumes),
      },
      // The role must be able to read the secrets (and the registry login must exist) before a task using it starts.
      o({ dependsOn: [execPolicy, ...(registryLogin ? [registryLogin.version] : [])] }),
    );
  }
  return taskDefs;
}
