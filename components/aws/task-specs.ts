// Pure: what each ECS task family runs, as plain data. The app services come
// from core/model.ts; this file adds what only AWS needs (sizes, the db-setup
// container, secret ARNs, log groups) and returns, per family, the canonical
// container definitions JSON, its execution role policy and its scratch volumes.
// task-definitions.ts turns these into resources.
import { createHash } from "crypto";
import { imageFor } from "../../core/images";
import { AppService, appServices } from "../../core/model";
import { AppSettings, AwsSettings } from "../../core/config";
import { DB_NAME, DB_USER } from "../../core/naming";
import { ASSETS_REGION, MASTER_USERNAME } from "./constants";
import { ContainerInput, ServiceLike, renderContainerDefinitions, scratchVolumes } from "./container-definitions";
import { executionRolePolicy } from "./iam-policies";
import { dbSetupCommand, dbSetupSql } from "./one-off";
import { RDS_CA_ENV, caEntryPoint } from "./rds-ca";
import { REQUIRED_APP_SECRETS } from "./secret-map";

/** Every task definition of the stack but the dump (dump-task.ts): the three services and the two one-off tasks. */
export const FAMILIES = ["backend", "worker", "frontend", "migrate", "db-setup"] as const;
export type Family = (typeof FAMILIES)[number];

/** A family's resolved task: canonical container definitions JSON, execution role policy JSON, scratch volumes. */
export interface FamilyTask {
  containers: string;
  policy: string;
  volumes: { name: string }[];
}

/** The app services as ECS runs them: S3 in ASSETS_REGION through its path-style endpoint. */
export function awsAppServices(app: AppSettings, assetsBucket: string): Record<AppService["name"], AppService> {
  return appServices({ app, objectStoreEndpoint: `https://s3.${ASSETS_REGION}.amazonaws.com`, assetsBucket });
}

/** Task CPU units and memory (MiB) per family. */
export function taskSizes(cfg: AwsSettings): Record<Family, { cpu: number; memory: number }> {
  return {
    backend: cfg.backend,
    worker: cfg.worker,
    frontend: cfg.frontend,
    migrate: cfg.backend, // same image and code as the backend: the same size fits it
    "db-setup": { cpu: 256, memory: 512 },
  };
}

/**
 * The db-setup task's one container: logs in to RDS as the master user (verify-full against
 * the region's RDS root CAs `ca`) and creates or re-passwords the app role.
 */
export function dbSetupService(host: string, app: AppSettings, ca: string): ServiceLike {
  return {
    name: "db-setup",
    image: imageFor("postgres", app.imageOverrides),
    command: dbSetupCommand(),
    user: "70",
    environment: { PGHOST: host, PGUSER: MASTER_USERNAME, DB_SETUP_SQL: dbSetupSql(DB_NAME, DB_USER), [RDS_CA_ENV]: ca },
    secretEnv: ["APP_DB_PASSWORD_SCRAM", "PGPASSWORD"],
    limits: { cpus: 0.25, memoryMb: 256 },
    stopGraceSeconds: 30,
    writablePaths: ["/tmp"],
  };
}

/** Everything the families' tasks depend on, resolved to plain strings. */
export interface FamilyTaskInput {
  stack: string;
  region: string;
  sizes: Record<Family, { cpu: number; memory: number }>;
  assetsBucket: string;
  /** Secrets Manager ARN per env name. */
  secretArns: Record<string, string>;
  /** The RDS-managed master user secret's ARN. */
  masterSecretArn: string;
  dbHost: string;
  /** The region's RDS root CAs (PEM, rds-ca.ts): every container that connects to RDS verifies it with them. */
  rdsCa: string;
  /** Version ids of the app's secrets: a rotation changes them. */
  secretVersionIds: string[];
  logGroupArns: Record<Family, string>;
  /** The app settings with every image pinned to its digest. */
  app: AppSettings;
  registry?: { server: string; secretArn: string };
}

/** Per family: its containers (canonical JSON), the execution role policy that reads exactly their secrets, its scratch volumes. */
export function familyTasks(t: FamilyTaskInput): Record<Family, FamilyTask> {
  const svc = awsAppServices(t.app, t.assetsBucket);
  const input = (
    f: Family,
    service: ServiceLike,
    extraArns: Record<string, string> = {},
    env?: Record<string, string>,
    entryPoint?: string[],
  ): ContainerInput => ({
    service,
    taskCpu: t.sizes[f].cpu,
    taskMemory: t.sizes[f].memory,
    secretArns: { ...t.secretArns, ...extraArns },
    requiredSecrets: service.secretEnv.filter((n) => (REQUIRED_APP_SECRETS as string[]).includes(n) || n === "APP_DB_PASSWORD_SCRAM" || n === "PGPASSWORD"),
    environmentOverrides: env,
    entryPoint,
    logGroup: `/freshtrack/${t.stack}/${f}`,
    region: t.region,
    registry: t.registry,
  });
  // A rotated secret keeps its ARN: this digest of version ids (not values) makes ECS roll the tasks.
  const rollOnRotation = { FT_ROTATION_DIGEST: createHash("sha256").update(t.secretVersionIds.join("\n")).digest("hex").slice(0, 16) };
  // The containers that connect to RDS get the CA file written before their command (verify-full).
  const withCa = { [RDS_CA_ENV]: t.rdsCa };
  const inputs: Record<Family, ContainerInput> = {
    backend: input("backend", svc.backend, {}, { ...rollOnRotation, ...withCa }, caEntryPoint()),
    worker: input("worker", svc.worker, {}, { ...rollOnRotation, ...withCa }, caEntryPoint()),
    frontend: input("frontend", svc.frontend),
    migrate: input("migrate", svc.migrate, {}, withCa, caEntryPoint()),
    "db-setup": input("db-setup", dbSetupService(t.dbHost, t.app, t.rdsCa), { PGPASSWORD: `${t.masterSecretArn}:password::` }),
  };
  return Object.fromEntries(
    FAMILIES.map((f) => {
      const containers = renderContainerDefinitions([inputs[f]]);
      type Def = { secrets: { valueFrom: string }[]; repositoryCredentials?: { credentialsParameter: string } };
      const valueFroms = (JSON.parse(containers) as Def[]).flatMap((c) => [
        ...c.secrets.map((s) => s.valueFrom),
        ...(c.repositoryCredentials ? [c.repositoryCredentials.credentialsParameter] : []),
      ]);
      return [
        f,
        {
          containers,
          policy: JSON.stringify(executionRolePolicy({ secretValueFroms: valueFroms, logGroupArn: t.logGroupArns[f] })),
          volumes: scratchVolumes(inputs[f].service),
        },
      ];
    }),
  ) as Record<Family, FamilyTask>;
}
