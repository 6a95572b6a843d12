// The scheduled logical dump (dump.ts holds its pure parts): its own KMS key and
// log group, a task whose role may only put dumps into the backups bucket, an
// EventBridge Scheduler schedule on backupSchedule (UTC) that starts it, and the
// freshness alarm that fires when a day passes without an upload.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsCron } from "../../core/aws-schedule";
import { imageFor } from "../../core/images";
import { DB_NAME, cloudName } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { Cluster } from "./cluster";
import { MASTER_USERNAME } from "./constants";
import { Database } from "./database";
import {
  DUMP_FRESHNESS_ALARM,
  DUMP_METRIC,
  UPLOAD_MARKER,
  dumpClientImage,
  dumpContainerDefinitions,
  dumpMetricName,
  dumpTaskPolicy,
  schedulerAssumeRolePolicy,
  schedulerPolicy,
} from "./dump";
import { executionRolePolicy } from "./iam-policies";
import { metricAlarm } from "./metric-alarm";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { SecurityGroups } from "./security-groups";

export interface DumpInputs {
  cluster: Cluster;
  database: Database;
  backupsBucket: aws.s3.Bucket;
  digests: ImageDigests;
  network: Network;
  groups: SecurityGroups;
  /** Where the freshness alarm goes (createAlarms' topic). */
  alarmTopic: aws.sns.Topic;
  /** The region's RDS root CAs (createRdsCa): the dump verifies RDS with them. */
  rdsCa: pulumi.Output<string>;
}

export interface DumpTask {
  /** The key dumps are encrypted with (SSE-KMS); a move's push into the backups bucket uses it too. */
  key: aws.kms.Key;
}

export function createDumpTask(scope: AwsScope, d: DumpInputs): DumpTask {
  const { cfg, config, stack, identity } = scope;
  const app = config.app;
  const o = scope.opts;
  const { cluster, assumeRolePolicy: assume } = d.cluster;
  const { db, masterSecretArn } = d.database;
  const { taskSubnets, assignPublicIp } = d.network;
  const backupsBucket = d.backupsBucket;
  const topic = d.alarmTopic;
  // A key only for dumps: the app's credentials cannot decrypt them, and it survives the stack's tasks.
  const dumpKey = new aws.kms.Key(
    "backups",
    { description: `FreshTrack ${stack}: database dumps in the backups bucket`, enableKeyRotation: true, deletionWindowInDays: 30 },
    o({ protect: true }),
  );
  const dumpLogs = new aws.cloudwatch.LogGroup("logs-db-dump", { name: `/freshtrack/${stack}/db-dump`, retentionInDays: cfg.logRetentionDays }, o());
  const dumpTaskRole = new aws.iam.Role(
    "db-dump-task",
    { assumeRolePolicy: assume, description: "FreshTrack db-dump: put dumps into the backups bucket, nothing else" },
    o(),
  );
  new aws.iam.RolePolicy(
    "db-dump-task",
    { role: dumpTaskRole.id, policy: pulumi.all([backupsBucket.arn, dumpKey.arn]).apply(([b, k]) => JSON.stringify(dumpTaskPolicy(b, k))) },
    o(),
  );
  const dumpExecRole = new aws.iam.Role(
    "exec-db-dump",
    { assumeRolePolicy: assume, description: "FreshTrack db-dump: pull, log, read the master password" },
    o(),
  );
  const dumpExecPolicy = new aws.iam.RolePolicy(
    "exec-db-dump",
    {
      role: dumpExecRole.id,
      policy: pulumi
        .all([masterSecretArn, dumpLogs.arn])
        .apply(([m, l]) => JSON.stringify(executionRolePolicy({ secretValueFroms: [`${m}:password::`], logGroupArn: l }))),
    },
    o(),
  );
  const dumpTask = new aws.ecs.TaskDefinition(
    "db-dump",
    {
      family: cloudName("db-dump"),
      cpu: "256",
      memory: "1024",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
      executionRoleArn: dumpExecRole.arn,
      taskRoleArn: dumpTaskRole.arn,
      volumes: [{ name: "dump" }],
      containerDefinitions: pulumi
        .all([
          masterSecretArn,
          db.address,
          backupsBucket.bucket,
          dumpKey.arn,
          d.digests.pin(dumpClientImage(cfg.dbEngineVersion, app.imageOverrides)),
          d.digests.pin(imageFor("rclone", app.imageOverrides)),
          d.rdsCa,
        ])
        .apply(([m, host, bucket, key, postgresImage, rcloneImage, ca]) =>
          dumpContainerDefinitions({
            postgresImage,
            rcloneImage,
            dbHost: host,
            masterUser: MASTER_USERNAME,
            masterPasswordValueFrom: `${m}:password::`,
            dbName: DB_NAME,
            rdsCa: ca,
            bucket,
            kmsKeyArn: key,
            region: cfg.region,
            logGroup: `/freshtrack/${stack}/db-dump`,
          }),
        ),
    },
    o({ dependsOn: [dumpExecPolicy] }),
  );
  const schedulerRole = new aws.iam.Role(
    "db-dump-scheduler",
    {
      assumeRolePolicy: identity.accountId.apply((id) => JSON.stringify(schedulerAssumeRolePolicy(id))),
      description: "EventBridge Scheduler: start the FreshTrack db-dump task",
    },
    o(),
  );
  const schedulerRolePolicy = new aws.iam.RolePolicy(
    "db-dump-scheduler",
    {
      role: schedulerRole.id,
      policy: pulumi
        .all([dumpTask.arn.apply((a) => a.replace(/:\d+$/, "")), cluster.arn, dumpExecRole.arn, dumpTaskRole.arn])
        .apply(([td, c, e, t]) => JSON.stringify(schedulerPolicy(td, c, [e, t]))),
    },
    o(),
  );
  new aws.scheduler.Schedule(
    "db-dump",
    {
      name: cloudName("db-dump", 64),
      description: "FreshTrack logical dump (backupSchedule, UTC)",
      scheduleExpression: awsCron(config.data.backupSchedule),
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: cluster.arn,
        roleArn: schedulerRole.arn,
        ecsParameters: {
          taskDefinitionArn: dumpTask.arn,
          launchType: "FARGATE",
          platformVersion: "1.4.0",
          networkConfiguration: { subnets: taskSubnets.map((s) => s.id), securityGroups: [d.groups.app.id], assignPublicIp },
        },
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    },
    o({ dependsOn: [schedulerRolePolicy] }),
  );
  // Freshness: the upload container logs UPLOAD_MARKER only after the restore check and the upload succeeded.
  new aws.cloudwatch.LogMetricFilter(
    "db-dump-uploaded",
    {
      logGroupName: dumpLogs.name,
      pattern: `"${UPLOAD_MARKER}"`,
      metricTransformation: { namespace: DUMP_METRIC.namespace, name: dumpMetricName(stack), value: "1" },
    },
    o(),
  );
  metricAlarm({ ...DUMP_FRESHNESS_ALARM, namespace: DUMP_METRIC.namespace, metricName: dumpMetricName(stack) }, topic.arn, o());
  return { key: dumpKey };
}
