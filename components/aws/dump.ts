// The AWS logical dump: a scheduled one-off Fargate task (EventBridge Scheduler,
// on backupSchedule) with two containers sharing a scratch volume (made writable
// first by the root "volumes" container, scratch-volumes.ts):
//   dump    (postgres image): pg_dump -Fc of the app database, then a restore
//           check: the dump is restored into a scratch database on the same
//           instance (pg_restore --exit-on-error) and must bring back every table;
//   upload  (rclone image): copies the checked dump to the backups bucket under
//           postgres/, encrypted with the stack's backups KMS key (SSE-KMS), with
//           the task role; prints UPLOAD_MARKER, which a log metric filter counts.
// The backups bucket's lifecycle keeps objects backupRetentionDays; a CloudWatch
// alarm fires when no dump was uploaded for a day. Pure: plain strings in, JSON out.
import { IMAGES } from "../../core/images";
import { serviceAssumeRolePolicy } from "./iam-policies";
import { RDS_CA_ENV } from "./rds-ca";
import { SCRATCH_VOLUMES_CONTAINER, scratchVolumesContainer } from "./scratch-volumes";

/** Where the dump container writes the RDS root CAs (its scratch volume); PGSSLROOTCERT names it. */
export const DUMP_CA_FILE = "/dump/rds-ca.pem";

/** Logged by the upload container after a successful upload; the freshness metric counts it. */
export const UPLOAD_MARKER = "FRESHTRACK_BACKUP_UPLOADED";
/** Logged by the dump container when the restore check passed. */
export const RESTORE_CHECK_MARKER = "FRESHTRACK_RESTORE_CHECK_OK";
export const DUMP_PREFIX = "postgres";
export const SCRATCH_DB = "frostguard_restore_check";
export const DUMP_METRIC = { namespace: "FreshTrack", name: "BackupUploaded" } as const;
/** One metric per stack (several stacks may share an account). */
export const dumpMetricName = (stack: string) => `${DUMP_METRIC.name}-${stack}`;

/**
 * pg_dump must be at least the server's major version: the client image follows
 * awsDbEngineVersion (16 is the image table's postgres, overridable like it).
 */
export const DUMP_CLIENT_IMAGES: Record<string, string> = { "15": "postgres:15.14-alpine", "17": "postgres:17.6-alpine" };
export function dumpClientImage(engineVersion: string, overrides: Record<string, string>): string {
  if (engineVersion === "16") return overrides.postgres ?? IMAGES.postgres.image;
  const image = DUMP_CLIENT_IMAGES[engineVersion];
  if (!image) throw new Error(`no pg_dump client image for PostgreSQL ${engineVersion}`);
  return image;
}

/**
 * Shell run by the dump container (postgres image, psql/pg_dump/pg_restore 16).
 * Connection from the environment (PGHOST, PGUSER, PGPASSWORD from Secrets Manager,
 * PGSSLMODE=verify-full, PGSSLROOTCERT: the file this script writes from RDS_CA_BUNDLE first);
 * writes $DUMP_DIR (default /dump)/<name>.dump and NAME.
 */
export function dumpScript(dbName: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error("database name must be a plain identifier");
  // Exact row counts of every table, one "schema.table=count" line each, sorted.
  const counts =
    "SELECT format('%s.%s=%s', table_schema, table_name, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1";
  return [
    "set -eu",
    'name="' + dbName + '-$(date -u +%Y%m%dT%H%M%SZ).dump"',
    "dir=${DUMP_DIR:-/dump}",
    'file="$dir/$name"',
    // The RDS root CAs, where PGSSLROOTCERT points (libpq verifies the server against them).
    "step_ca() {",
    `  if [ -n "\${PGSSLROOTCERT:-}" ]; then printf '%s\\n' "\${${RDS_CA_ENV}:?${RDS_CA_ENV} is empty}" > "$PGSSLROOTCERT"; fi`,
    "}",
    "step_dump() {",
    `  pg_dump --format=custom --compress=6 --no-owner --no-privileges --dbname=${dbName} --file="$file"`,
    '  echo "dumped $name: $(wc -c <"$file") bytes"',
    "}",
    "step_restore_check() {",
    `  psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -c 'DROP DATABASE IF EXISTS ${SCRATCH_DB}' -c 'CREATE DATABASE ${SCRATCH_DB}'`,
    `  pg_restore --exit-on-error --no-owner --no-privileges --dbname=${SCRATCH_DB} "$file"`,
    `  live_tables=$(psql -X -At -v ON_ERROR_STOP=1 --dbname=${dbName} -c "${counts}" | cut -d= -f1)`,
    `  restored=$(psql -X -At -v ON_ERROR_STOP=1 --dbname=${SCRATCH_DB} -c "${counts}")`,
    `  psql -X -q --dbname=postgres -c 'DROP DATABASE ${SCRATCH_DB}'`,
    '  if [ "$live_tables" != "$(printf \'%s\\n\' "$restored" | cut -d= -f1)" ]; then echo "restore check failed: the restored tables differ from the live ones" >&2; exit 1; fi',
    `  echo "${RESTORE_CHECK_MARKER} $name tables=$(printf '%s\\n' "$restored" | grep -c .)"`,
    "  printf '%s\\n' \"$restored\"",
    "}",
    "step_ca",
    "step_dump",
    "step_restore_check",
    'printf "%s" "$name" > "$dir/NAME"',
    "",
  ].join("\n");
}

/** Shell run by the upload container (rclone image): the checked dump to s3://bucket/postgres/, SSE-KMS, task-role credentials. */
export function uploadScript(): string {
  return [
    "set -eu",
    "name=$(cat /dump/NAME)",
    // env_auth: the SDK chain finds the task role; no key is stored anywhere.
    `rclone copyto "/dump/$name" ":s3:$BUCKET/${DUMP_PREFIX}/$name" --s3-provider AWS --s3-env-auth --s3-region "$AWS_REGION" --s3-server-side-encryption aws:kms --s3-sse-kms-key-id "$SSE_KMS_ARN" --s3-no-check-bucket --s3-no-head --retries 5`,
    `echo "${UPLOAD_MARKER} s3://$BUCKET/${DUMP_PREFIX}/$name"`,
    "",
  ].join("\n");
}

export interface DumpTaskInput {
  postgresImage: string;
  rcloneImage: string;
  dbHost: string;
  masterUser: string;
  /** `arn:…:secret:…:password::` of the RDS-managed master secret. */
  masterPasswordValueFrom: string;
  dbName: string;
  /** The region's RDS root CAs (PEM, rds-ca.ts). */
  rdsCa: string;
  bucket: string;
  kmsKeyArn: string;
  region: string;
  logGroup: string;
}

const log = (i: DumpTaskInput, prefix: string) => ({
  logDriver: "awslogs" as const,
  options: { "awslogs-group": i.logGroup, "awslogs-region": i.region, "awslogs-stream-prefix": prefix },
  secretOptions: [],
});

/** The task's containers, as ECS JSON: volumes (makes /dump writable: scratch-volumes.ts) -> dump -> upload. */
export function dumpContainerDefinitions(i: DumpTaskInput): string {
  const mount = [{ sourceVolume: "dump", containerPath: "/dump", readOnly: false }];
  const defs = [
    // Without it the dump (uid 70) could not write the root-owned volume Fargate creates.
    scratchVolumesContainer(i.rcloneImage, [{ sourceVolume: "dump", containerPath: "/dump" }], log(i, SCRATCH_VOLUMES_CONTAINER)),
    {
      name: "dump",
      image: i.postgresImage,
      essential: false,
      user: "70",
      entryPoint: ["sh", "-c"],
      command: [dumpScript(i.dbName)],
      environment: [
        { name: "PGHOST", value: i.dbHost },
        { name: "PGSSLMODE", value: "verify-full" },
        { name: "PGSSLROOTCERT", value: DUMP_CA_FILE },
        { name: "PGUSER", value: i.masterUser },
        { name: RDS_CA_ENV, value: i.rdsCa },
      ],
      secrets: [{ name: "PGPASSWORD", valueFrom: i.masterPasswordValueFrom }],
      mountPoints: mount,
      readonlyRootFilesystem: true,
      dependsOn: [{ containerName: SCRATCH_VOLUMES_CONTAINER, condition: "SUCCESS" }],
      logConfiguration: log(i, "dump"),
    },
    {
      name: "upload",
      image: i.rcloneImage,
      essential: true,
      user: "65534",
      entryPoint: ["sh", "-c"],
      command: [uploadScript()],
      environment: [
        { name: "AWS_REGION", value: i.region },
        { name: "BUCKET", value: i.bucket },
        { name: "SSE_KMS_ARN", value: i.kmsKeyArn },
        // rclone writes nothing else; its cache/config go to the scratch volume.
        { name: "RCLONE_CONFIG", value: "/dump/.rclone.conf" },
        { name: "XDG_CACHE_HOME", value: "/dump/.cache" },
      ],
      secrets: [],
      mountPoints: mount,
      readonlyRootFilesystem: true,
      dependsOn: [{ containerName: "dump", condition: "SUCCESS" }],
      logConfiguration: log(i, "upload"),
    },
  ];
  return JSON.stringify(defs);
}

/** Task role: put dumps under postgres/ with the backups key; nothing else (no read, no delete). */
export function dumpTaskPolicy(bucketArn: string, kmsKeyArn: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "PutDumps", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucketArn}/${DUMP_PREFIX}/*`] },
      { Sid: "EncryptDumps", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Encrypt"], Resource: [kmsKeyArn] },
    ],
  };
}

/** Scheduler role's trust: EventBridge Scheduler acting for this account only (confused-deputy guard). */
export function schedulerAssumeRolePolicy(accountId: string): object {
  return serviceAssumeRolePolicy("scheduler.amazonaws.com", accountId);
}

/** Scheduler role: run exactly this task definition family and pass its two roles. */
export function schedulerPolicy(taskDefinitionArnPrefix: string, clusterArn: string, roleArns: string[]): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RunDump",
        Effect: "Allow",
        Action: ["ecs:RunTask"],
        Resource: [`${taskDefinitionArnPrefix}:*`],
        Condition: { ArnEquals: { "ecs:cluster": clusterArn } },
      },
      { Sid: "PassRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: roleArns },
    ],
  };
}

/** Freshness: fewer than one upload in a day (missing data = no upload = breaching). */
export const DUMP_FRESHNESS_ALARM = {
  name: "backup-dump-stale",
  description:
    "No database dump was uploaded to the backups bucket in the last 24 hours (or its restore check failed). Check: aws logs tail /freshtrack/<stack>/db-dump.",
  period: 86400,
  evaluationPeriods: 1,
  threshold: 1,
  comparisonOperator: "LessThanThreshold" as const,
  statistic: "Sum" as const,
  treatMissingData: "breaching" as const,
};
