// The containers the two one-off tasks of a move with aws are made of (move-import.ts: fetch ->
// queue -> restore; move-export.ts: dump -> queue -> upload), after the root "volumes" container:
// an rclone one with the buckets in its environment and the task role's credentials, and a
// postgres client one that connects as the app role over verify-full TLS (the queue container is
// move-queue.ts's). All non-root on a read-only root, each starting only once the one before it
// succeeded. Pure: plain data in, ECS JSON objects out.
import { RDS_CA_ENV, RDS_CA_FILE } from "./rds-ca";

/** The scratch volume the containers share. */
export const MOVE_DIR = "/move";

/** What a move task's container definitions are rendered from. */
export interface MoveTaskInput {
  postgresImage: string;
  rcloneImage: string;
  /** valkey-cli with TLS: the queue containers (move-queue.ts). */
  redisImage: string;
  dbName: string;
  /** The region's RDS root CAs (PEM, rds-ca.ts). */
  rdsCa: string;
  /** Bucket names (not ARNs). */
  backupsBucket: string;
  assetsBucket: string;
  /** The stack's region (backups bucket, logs). */
  region: string;
  /** The assets bucket's region (ASSETS_REGION; may differ from region). */
  assetsRegion: string;
  logGroup: string;
  /** Secrets Manager ARN (ECS `valueFrom`) per env name: each of the task's secret variables (others are ignored). */
  secretArns: Record<string, string>;
}

export interface MountPoint {
  sourceVolume: string;
  containerPath: string;
  readOnly: boolean;
}

/** awslogs to the task's log group, streams PREFIX/CONTAINER/TASK-ID. */
export const moveTaskLog = (i: MoveTaskInput, prefix: string) => ({
  logDriver: "awslogs" as const,
  options: { "awslogs-group": i.logGroup, "awslogs-region": i.region, "awslogs-stream-prefix": prefix },
  secretOptions: [],
});

interface Step {
  name: string;
  script: string;
  essential: boolean;
  mounts: MountPoint[];
  /** The container that must have succeeded first. */
  after: string;
}

/** The rclone container (uid 65534): BUCKET and AWS_REGION, `env` (e.g. the KMS key), the assets bucket and its region. */
export function rcloneMoveContainer(i: MoveTaskInput, s: Step, env: { name: string; value: string }[] = []) {
  return {
    name: s.name,
    image: i.rcloneImage,
    essential: s.essential,
    user: "65534",
    entryPoint: ["sh", "-c"],
    command: [s.script],
    environment: [
      { name: "AWS_REGION", value: i.region },
      { name: "BUCKET", value: i.backupsBucket },
      ...env,
      { name: "ASSETS_BUCKET", value: i.assetsBucket },
      { name: "ASSETS_REGION", value: i.assetsRegion },
      { name: "MOVE_DIR", value: MOVE_DIR },
      // rclone writes nothing else; its config and cache go to the scratch volume.
      { name: "RCLONE_CONFIG", value: `${MOVE_DIR}/.rclone.conf` },
      { name: "XDG_CACHE_HOME", value: `${MOVE_DIR}/.cache` },
    ],
    secrets: [],
    mountPoints: s.mounts,
    readonlyRootFilesystem: true,
    dependsOn: [{ containerName: s.after, condition: "SUCCESS" }],
    logConfiguration: moveTaskLog(i, s.name),
  };
}

/** The postgres client container (uid 70): `secretEnv` from Secrets Manager (DATABASE_URL first among them). */
export function postgresMoveContainer(i: MoveTaskInput, s: Step, secretEnv: readonly string[]) {
  return {
    name: s.name,
    image: i.postgresImage,
    essential: s.essential,
    user: "70",
    entryPoint: ["sh", "-c"],
    command: [s.script],
    environment: [
      { name: "MOVE_DIR", value: MOVE_DIR },
      // DATABASE_URL already says verify-full and sslrootcert=RDS_CA_FILE; these are libpq's
      // defaults for whatever the URL leaves out, and where the script writes the CA.
      { name: "PGSSLMODE", value: "verify-full" },
      { name: "PGSSLROOTCERT", value: RDS_CA_FILE },
      { name: RDS_CA_ENV, value: i.rdsCa },
    ],
    secrets: secretEnv.map((name) => ({ name, valueFrom: i.secretArns[name] })),
    mountPoints: s.mounts,
    readonlyRootFilesystem: true,
    dependsOn: [{ containerName: s.after, condition: "SUCCESS" }],
    logConfiguration: moveTaskLog(i, s.name),
  };
}
