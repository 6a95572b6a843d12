// aws as a move's OLD side (onto a vm or droplet): what the move needs to take the customer's data
// out (move-export.ts holds the pure parts). A one-off task in the VPC that dumps the app database
// as the app's role and writes the dump and its texts into this side's own backups bucket under
// move/, and a key for an IAM user that may only read those objects and the assets bucket: the new
// host pulls with it (a Fargate task cannot be reached by SSH the way a host is). The move declares
// them under its own component (the scope's parent), in the phases that export.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { imageFor } from "../../core/images";
import { DB_NAME, cloudName } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { MoveExportAccess } from "../shared/target";
import { Buckets } from "./buckets";
import { Cluster } from "./cluster";
import { ASSETS_REGION } from "./constants";
import { Database } from "./database";
import { dumpClientImage } from "./dump";
import { executionRolePolicy } from "./iam-policies";
import { runTaskEnvironment } from "./migrations";
import {
  MOVE_EXPORT_CONTAINER,
  MOVE_EXPORT_LOG_PREFIX,
  MOVE_EXPORT_SECRET_ENV,
  MOVE_EXPORT_VOLUMES,
  moveExportContainerDefinitions,
  moveExportTaskPolicy,
  movePullUserPolicy,
} from "./move-export";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { AppSecrets } from "./secrets";
import { SecurityGroups } from "./security-groups";

export interface MoveExportInputs {
  cluster: Cluster;
  network: Network;
  groups: SecurityGroups;
  database: Database;
  buckets: Buckets;
  appSecrets: AppSecrets;
  digests: ImageDigests;
  /** The backups' KMS key (createDumpTask): the export is encrypted with it, the new host decrypts. */
  dumpKey: aws.kms.Key;
  rdsCa: pulumi.Output<string>;
}

export function createMoveExport(scope: AwsScope, m: MoveExportInputs): MoveExportAccess {
  const { cfg, config, stack } = scope;
  const o = scope.opts;
  const { backups, assets } = m.buckets;
  const arns = pulumi.all([backups.arn, assets.arn, m.dumpKey.arn]);

  // The new host's key: read the export and the assets bucket, nothing else.
  const pullUser = new aws.iam.User("move-pull", { name: cloudName("move-pull", 64), path: "/freshtrack/" }, o());
  new aws.iam.UserPolicy("move-pull", { user: pullUser.name, policy: arns.apply(([b, a, k]) => JSON.stringify(movePullUserPolicy(b, a, k))) }, o());
  const pullKey = new aws.iam.AccessKey("move-pull", { user: pullUser.name }, o());
  const pullCredential = pulumi.secret(
    pulumi.all([pullKey.id, pullKey.secret, backups.bucket, assets.bucket, m.dumpKey.arn]).apply(([id, secret, b, a, k]) =>
      JSON.stringify({
        access_key_id: id,
        secret_access_key: secret,
        region: cfg.region,
        assets_region: ASSETS_REGION,
        backups_bucket: b,
        assets_bucket: a,
        kms_key_arn: k,
      }),
    ),
  );

  const logGroup = `/freshtrack/${stack}/move-export`;
  const logs = new aws.cloudwatch.LogGroup("logs-move-export", { name: logGroup, retentionInDays: cfg.logRetentionDays }, o());
  const taskRole = new aws.iam.Role(
    "move-export-task",
    { assumeRolePolicy: m.cluster.assumeRolePolicy, description: "FreshTrack move-export: replace the move's objects, list the assets bucket" },
    o(),
  );
  new aws.iam.RolePolicy("move-export-task", { role: taskRole.id, policy: arns.apply(([b, a, k]) => JSON.stringify(moveExportTaskPolicy(b, a, k))) }, o());
  const secretArns = pulumi.all(MOVE_EXPORT_SECRET_ENV.map((env) => m.appSecrets.arns[env]));
  const execRole = new aws.iam.Role(
    "exec-move-export",
    { assumeRolePolicy: m.cluster.assumeRolePolicy, description: "FreshTrack move-export: pull, log, read its secrets" },
    o(),
  );
  const execPolicy = new aws.iam.RolePolicy(
    "exec-move-export",
    {
      role: execRole.id,
      policy: pulumi.all([secretArns, logs.arn]).apply(([s, l]) => JSON.stringify(executionRolePolicy({ secretValueFroms: s, logGroupArn: l }))),
    },
    o(),
  );
  const task = new aws.ecs.TaskDefinition(
    "move-export",
    {
      family: cloudName("move-export"),
      cpu: "512",
      memory: "2048",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
      executionRoleArn: execRole.arn,
      taskRoleArn: taskRole.arn,
      volumes: MOVE_EXPORT_VOLUMES,
      containerDefinitions: pulumi
        .all([
          backups.bucket,
          assets.bucket,
          m.dumpKey.arn,
          secretArns,
          // pg_dump must be at least the server's major version.
          m.digests.pin(dumpClientImage(cfg.dbEngineVersion, config.app.imageOverrides)),
          m.digests.pin(imageFor("rclone", config.app.imageOverrides)),
          m.rdsCa,
        ])
        .apply(([b, a, k, s, postgresImage, rcloneImage, ca]) =>
          moveExportContainerDefinitions({
            postgresImage,
            rcloneImage,
            dbName: DB_NAME,
            rdsCa: ca,
            backupsBucket: b,
            assetsBucket: a,
            kmsKeyArn: k,
            region: cfg.region,
            assetsRegion: ASSETS_REGION,
            logGroup,
            secretArns: Object.fromEntries(MOVE_EXPORT_SECRET_ENV.map((env, i) => [env, s[i]])),
          }),
        ),
    },
    o({ dependsOn: [execPolicy] }),
  );

  const runTask = pulumi
    .output(runTaskEnvironment(scope, m, task.arn, MOVE_EXPORT_CONTAINER, logGroup))
    .apply((env): Record<string, string> => ({ ...env, LOG_STREAM_PREFIX: MOVE_EXPORT_LOG_PREFIX }));
  return { pullCredential, runTask };
}
