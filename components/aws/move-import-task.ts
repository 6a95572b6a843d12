// aws as a move's new side (prepare, cutover): what the old host and the move need to bring the
// customer's data in (move-import.ts holds the pure parts). A key for an IAM user that may only
// write the move's objects into the backups bucket and sync the assets bucket (the old host
// pushes with it: a Fargate task's address is not known in advance, so the new side cannot pull
// the way a host does), and a one-off task in the VPC that fetches the push, restores it into
// RDS as the app's role and compares it with the old side's counts. Declared only during the
// move's prepare and cutover: from retire on the key and the task are gone.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { imageFor } from "../../core/images";
import { DB_NAME, cloudName } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { MoveImportAccess } from "../shared/target";
import { Buckets } from "./buckets";
import { Cluster } from "./cluster";
import { ASSETS_REGION } from "./constants";
import { Database } from "./database";
import { dumpClientImage } from "./dump";
import { executionRolePolicy } from "./iam-policies";
import { runTaskEnvironment } from "./migrations";
import {
  MOVE_IMPORT_CONTAINER,
  MOVE_IMPORT_SECRET_ENV,
  MOVE_IMPORT_VOLUMES,
  moveImportContainerDefinitions,
  moveImportTaskPolicy,
  movePushUserPolicy,
} from "./move-import";
import { MOVE_IMPORT_LOG_PREFIX } from "./move-run";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { AppSecrets } from "./secrets";
import { SecurityGroups } from "./security-groups";
import { Services, WORKER_COUNT } from "./services";

export interface MoveImportInputs {
  cluster: Cluster;
  network: Network;
  groups: SecurityGroups;
  database: Database;
  buckets: Buckets;
  appSecrets: AppSecrets;
  digests: ImageDigests;
  /** The backups' KMS key (createDumpTask): the push is encrypted with it, the import decrypts. */
  dumpKey: aws.kms.Key;
  rdsCa: pulumi.Output<string>;
  services: Services;
}

export function createMoveImport(scope: AwsScope, m: MoveImportInputs): MoveImportAccess {
  const { cfg, config, stack } = scope;
  const o = scope.opts;
  const { backups, assets } = m.buckets;
  const arns = pulumi.all([backups.arn, assets.arn, m.dumpKey.arn]);

  // The old host's key: the move's objects and the assets bucket, nothing else.
  const pushUser = new aws.iam.User("move-push", { name: cloudName("move-push", 64), path: "/freshtrack/" }, o());
  new aws.iam.UserPolicy("move-push", { user: pushUser.name, policy: arns.apply(([b, a, k]) => JSON.stringify(movePushUserPolicy(b, a, k))) }, o());
  const pushKey = new aws.iam.AccessKey("move-push", { user: pushUser.name }, o());
  const pushCredential = pulumi.secret(
    pulumi.all([pushKey.id, pushKey.secret, backups.bucket, assets.bucket, m.dumpKey.arn]).apply(([id, secret, b, a, k]) =>
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

  const logGroup = `/freshtrack/${stack}/move-import`;
  const logs = new aws.cloudwatch.LogGroup("logs-move-import", { name: logGroup, retentionInDays: cfg.logRetentionDays }, o());
  const taskRole = new aws.iam.Role(
    "move-import-task",
    { assumeRolePolicy: m.cluster.assumeRolePolicy, description: "FreshTrack move-import: read the move's objects, list the assets bucket" },
    o(),
  );
  new aws.iam.RolePolicy("move-import-task", { role: taskRole.id, policy: arns.apply(([b, a, k]) => JSON.stringify(moveImportTaskPolicy(b, a, k))) }, o());
  const secretArns = pulumi.all(MOVE_IMPORT_SECRET_ENV.map((env) => m.appSecrets.arns[env]));
  const execRole = new aws.iam.Role(
    "exec-move-import",
    { assumeRolePolicy: m.cluster.assumeRolePolicy, description: "FreshTrack move-import: pull, log, read its secrets" },
    o(),
  );
  const execPolicy = new aws.iam.RolePolicy(
    "exec-move-import",
    {
      role: execRole.id,
      policy: pulumi.all([secretArns, logs.arn]).apply(([s, l]) => JSON.stringify(executionRolePolicy({ secretValueFroms: s, logGroupArn: l }))),
    },
    o(),
  );
  const task = new aws.ecs.TaskDefinition(
    "move-import",
    {
      family: cloudName("move-import"),
      cpu: "512",
      memory: "2048",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
      executionRoleArn: execRole.arn,
      taskRoleArn: taskRole.arn,
      volumes: MOVE_IMPORT_VOLUMES,
      containerDefinitions: pulumi
        .all([
          backups.bucket,
          assets.bucket,
          secretArns,
          m.digests.pin(dumpClientImage(cfg.dbEngineVersion, config.app.imageOverrides)),
          m.digests.pin(imageFor("rclone", config.app.imageOverrides)),
          m.rdsCa,
        ])
        .apply(([b, a, s, postgresImage, rcloneImage, ca]) =>
          moveImportContainerDefinitions({
            postgresImage,
            rcloneImage,
            dbName: DB_NAME,
            rdsCa: ca,
            backupsBucket: b,
            assetsBucket: a,
            region: cfg.region,
            assetsRegion: ASSETS_REGION,
            logGroup,
            secretArns: Object.fromEntries(MOVE_IMPORT_SECRET_ENV.map((env, i) => [env, s[i]])),
          }),
        ),
    },
    o({ dependsOn: [execPolicy] }),
  );

  const runTask = pulumi
    .output(runTaskEnvironment(scope, m, task.arn, MOVE_IMPORT_CONTAINER, logGroup))
    .apply((env): Record<string, string> => ({ ...env, LOG_STREAM_PREFIX: MOVE_IMPORT_LOG_PREFIX }));
  const scale = pulumi
    .all([m.cluster.cluster.arn, m.services.backend.name, m.services.worker.name])
    .apply(([cluster, backend, worker]): Record<string, string> => ({
      AWS_REGION: cfg.region,
      CLUSTER: cluster,
      SERVICES: `${backend}=${cfg.backend.count} ${worker}=${WORKER_COUNT}`,
    }));
  return { pushCredential, runTask, scale };
}
