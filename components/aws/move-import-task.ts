// aws as a move's new side (prepare, cutover): what the old host and the move need to bring the
// customer's data in (move-import.ts holds the pure parts). A key for an IAM user that may only
// write the move's objects into the backups bucket and sync the assets bucket (the old host
// pushes with it: a Fargate task's address is not known in advance, so the new side cannot pull
// the way a host does), and a one-off task in the VPC that fetches the push, restores it into
// RDS as the app's role and compares it with the old side's counts. Declared only during the
// move's prepare and cutover: from retire on the key and the task are gone.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DB_NAME } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { MoveImportAccess } from "../shared/target";
import { Buckets } from "./buckets";
import { Cluster } from "./cluster";
import { ASSETS_REGION } from "./constants";
import { Database } from "./database";
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
import { moveHostKey, moveServicesEnvironment, moveTask } from "./move-task";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { AppSecrets } from "./secrets";
import { SecurityGroups } from "./security-groups";
import { Services } from "./services";

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
  // The old host's key: the move's objects and the assets bucket, nothing else.
  const pushCredential = moveHostKey(scope, "move-push", movePushUserPolicy, m);
  const { task, logGroup } = moveTask(scope, {
    ...m,
    name: "move-import",
    taskRoleDoes: "read the move's objects, list the assets bucket",
    taskPolicy: moveImportTaskPolicy,
    secretEnv: MOVE_IMPORT_SECRET_ENV,
    volumes: MOVE_IMPORT_VOLUMES,
    containers: (i) => moveImportContainerDefinitions({ ...i, dbName: DB_NAME, region: scope.cfg.region, assetsRegion: ASSETS_REGION }),
  });
  const runTask = pulumi
    .output(runTaskEnvironment(scope, m, task.arn, MOVE_IMPORT_CONTAINER, logGroup))
    .apply((env): Record<string, string> => ({ ...env, LOG_STREAM_PREFIX: MOVE_IMPORT_LOG_PREFIX }));
  return { pushCredential, runTask, scale: moveServicesEnvironment(scope, m.cluster, m.services) };
}
