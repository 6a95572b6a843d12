// What the two one-off tasks of a move with aws share (move-import-task.ts: a host onto aws;
// move-export-task.ts: aws onto a host): the IAM user whose key a host uses for the move's bucket
// traffic, handed over as the JSON `bin/move-export --push-s3` / `bin/move-import --from-s3` read
// on stdin, and the task itself (log group, task role, execution role reading exactly its
// secrets, task definition with a pinned postgres client and rclone image).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { imageFor } from "../../core/images";
import { cloudName } from "../../core/naming";
import { ImageDigests } from "../shared/image-digests";
import { Buckets } from "./buckets";
import { Cluster } from "./cluster";
import { ASSETS_REGION } from "./constants";
import { dumpClientImage } from "./dump";
import { executionRolePolicy } from "./iam-policies";
import { MovePolicyDocument } from "./move-import";
import { AwsScope } from "./scope";
import { AppSecrets } from "./secrets";
import { Services, WORKER_COUNT } from "./services";

type PolicyOf = (backupsBucketArn: string, assetsBucketArn: string, kmsKeyArn: string) => MovePolicyDocument;

export interface MoveBuckets {
  buckets: Buckets;
  /** The backups' KMS key (createDumpTask): the move's objects are encrypted with it. */
  dumpKey: aws.kms.Key;
}

const arnsOf = (m: MoveBuckets) => pulumi.all([m.buckets.backups.arn, m.buckets.assets.arn, m.dumpKey.arn]);

/** The host's key (`name`: move-push or move-pull) limited by `policy`, as the secret JSON the host reads on stdin. */
export function moveHostKey(scope: AwsScope, name: string, policy: PolicyOf, m: MoveBuckets): pulumi.Output<string> {
  const o = scope.opts;
  const user = new aws.iam.User(name, { name: cloudName(name, 64), path: "/freshtrack/" }, o());
  new aws.iam.UserPolicy(name, { user: user.name, policy: arnsOf(m).apply(([b, a, k]) => JSON.stringify(policy(b, a, k))) }, o());
  const key = new aws.iam.AccessKey(name, { user: user.name }, o());
  return pulumi.secret(
    pulumi.all([key.id, key.secret, m.buckets.backups.bucket, m.buckets.assets.bucket, m.dumpKey.arn]).apply(([id, secret, b, a, k]) =>
      JSON.stringify({
        access_key_id: id,
        secret_access_key: secret,
        region: scope.cfg.region,
        assets_region: ASSETS_REGION,
        backups_bucket: b,
        assets_bucket: a,
        kms_key_arn: k,
      }),
    ),
  );
}

/** What the container definitions of a move task are rendered from (besides the buckets). */
export interface MoveTaskImages {
  postgresImage: string;
  rcloneImage: string;
  redisImage: string;
  rdsCa: string;
  backupsBucket: string;
  assetsBucket: string;
  kmsKeyArn: string;
  /** Secrets Manager ARN of each of the task's secret variables. */
  secretArns: Record<string, string>;
  logGroup: string;
}

export interface MoveTaskSpec extends MoveBuckets {
  /** move-import or move-export: the task definition, its roles and its log group are named after it. */
  name: string;
  /** What the task role may do, in its description. */
  taskRoleDoes: string;
  taskPolicy: PolicyOf;
  /** The app's secrets the task reads (ECS `secrets`): the execution role may read exactly these. */
  secretEnv: readonly string[];
  volumes: { name: string }[];
  containers: (i: MoveTaskImages) => string;
  cluster: Cluster;
  appSecrets: AppSecrets;
  digests: ImageDigests;
  rdsCa: pulumi.Output<string>;
}

/** The task definition of a move's one-off task, and its log group's name. */
export function moveTask(scope: AwsScope, s: MoveTaskSpec): { task: aws.ecs.TaskDefinition; logGroup: string } {
  const { cfg, config, stack } = scope;
  const o = scope.opts;
  const logGroup = `/freshtrack/${stack}/${s.name}`;
  const logs = new aws.cloudwatch.LogGroup(`logs-${s.name}`, { name: logGroup, retentionInDays: cfg.logRetentionDays }, o());
  const taskRole = new aws.iam.Role(
    `${s.name}-task`,
    { assumeRolePolicy: s.cluster.assumeRolePolicy, description: `FreshTrack ${s.name}: ${s.taskRoleDoes}` },
    o(),
  );
  new aws.iam.RolePolicy(`${s.name}-task`, { role: taskRole.id, policy: arnsOf(s).apply(([b, a, k]) => JSON.stringify(s.taskPolicy(b, a, k))) }, o());
  const secretArns = pulumi.all(s.secretEnv.map((env) => s.appSecrets.arns[env]));
  const execRole = new aws.iam.Role(
    `exec-${s.name}`,
    { assumeRolePolicy: s.cluster.assumeRolePolicy, description: `FreshTrack ${s.name}: pull, log, read its secrets` },
    o(),
  );
  const execPolicy = new aws.iam.RolePolicy(
    `exec-${s.name}`,
    {
      role: execRole.id,
      policy: pulumi.all([secretArns, logs.arn]).apply(([a, l]) => JSON.stringify(executionRolePolicy({ secretValueFroms: a, logGroupArn: l }))),
    },
    o(),
  );
  const task = new aws.ecs.TaskDefinition(
    s.name,
    {
      family: cloudName(s.name),
      cpu: "512",
      memory: "2048",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
      executionRoleArn: execRole.arn,
      taskRoleArn: taskRole.arn,
      volumes: s.volumes,
      containerDefinitions: pulumi
        .all([
          s.buckets.backups.bucket,
          s.buckets.assets.bucket,
          s.dumpKey.arn,
          secretArns,
          // pg_dump / pg_restore must be at least the server's major version.
          s.digests.pin(dumpClientImage(cfg.dbEngineVersion, config.app.imageOverrides)),
          s.digests.pin(imageFor("rclone", config.app.imageOverrides)),
          s.digests.pin(imageFor("redis", config.app.imageOverrides)),
          s.rdsCa,
        ])
        .apply(([b, a, k, arns, postgresImage, rcloneImage, redisImage, ca]) =>
          s.containers({
            postgresImage,
            rcloneImage,
            redisImage,
            rdsCa: ca,
            backupsBucket: b,
            assetsBucket: a,
            kmsKeyArn: k,
            logGroup,
            secretArns: Object.fromEntries(s.secretEnv.map((env, i) => [env, arns[i]])),
          }),
        ),
    },
    o({ dependsOn: [execPolicy] }),
  );
  return { task, logGroup };
}

/**
 * Region, cluster and `name=count` of the backend and worker at their declared counts: the
 * services a move scales; and their load balancer target groups, which must have a healthy
 * target before requests are sent their way (move-freeze.ts IN_SERVICE).
 */
export function moveServicesEnvironment(scope: AwsScope, cluster: Cluster, services: Services): pulumi.Output<Record<string, string>> {
  return pulumi
    .all([cluster.cluster.arn, services.backend.name, services.worker.name, services.backend.loadBalancers, services.worker.loadBalancers])
    .apply(([c, backend, worker, ...lbs]): Record<string, string> => ({
      AWS_REGION: scope.cfg.region,
      CLUSTER: c,
      SERVICES: `${backend}=${scope.cfg.backend.count} ${worker}=${WORKER_COUNT}`,
      TARGET_GROUPS: lbs
        .flatMap((l) => l ?? [])
        .map((l) => l.targetGroupArn ?? "")
        .filter(Boolean)
        .join(" "),
    }));
}
