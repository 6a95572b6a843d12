// aws as a move's OLD side (onto a vm or droplet): what the move needs to take the customer's data
// out (move-export.ts holds the pure parts). A one-off task in the VPC that dumps the app database
// as the app's role and writes the dump and its texts into this side's own backups bucket under
// move/, and a key for an IAM user that may only read those objects and the assets bucket: the new
// host pulls with it (a Fargate task cannot be reached by SSH the way a host is). The move declares
// them under its own component (the scope's parent), in the phases that export.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DB_NAME } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { MoveExportAccess } from "../shared/target";
import { Buckets } from "./buckets";
import { Cluster } from "./cluster";
import { ASSETS_REGION } from "./constants";
import { Database } from "./database";
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
import { moveHostKey, moveTask } from "./move-task";
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
  // The new host's key: read the export and the assets bucket, nothing else.
  const pullCredential = moveHostKey(scope, "move-pull", movePullUserPolicy, m);
  const { task, logGroup } = moveTask(scope, {
    ...m,
    name: "move-export",
    taskRoleDoes: "replace the move's objects, list the assets bucket",
    taskPolicy: moveExportTaskPolicy,
    secretEnv: MOVE_EXPORT_SECRET_ENV,
    volumes: MOVE_EXPORT_VOLUMES,
    containers: (i) => moveExportContainerDefinitions({ ...i, dbName: DB_NAME, region: scope.cfg.region, assetsRegion: ASSETS_REGION }),
  });
  const runTask = pulumi
    .output(runTaskEnvironment(scope, m, task.arn, MOVE_EXPORT_CONTAINER, logGroup))
    .apply((env): Record<string, string> => ({ ...env, LOG_STREAM_PREFIX: MOVE_EXPORT_LOG_PREFIX }));
  return { pullCredential, runTask };
}
