// Pure translation of core/model.ts services into ECS container definitions.
// The output is canonical: every field ECS fills in on its own is written out
// with the value ECS would store, arrays and maps are sorted, and the JSON comes
// from JSON.stringify of a fixed-order object. `pulumi up` with no model change
// therefore shows no diff, and two runs give byte-identical text.
import { registryOf } from "../../core/images";
import { AppService, HealthCheck } from "../../core/model";
import { APP_CONTRACT } from "../../core/app-contract";

/** A model service, or a target-only one-off (db-setup) shaped the same way. */
export type ServiceLike = Omit<AppService, "name"> & { name: string };

/** ECS caps stopTimeout at 120 s on Fargate. */
export const MAX_STOP_TIMEOUT = 120;
/** Memory reserved for the volume-init container (it only runs chmod). */
export const INIT_MEMORY = 16;
export const INIT_SUFFIX = "-init-volumes";

export interface KeyValuePair {
  name: string;
  value: string;
}
export interface SecretRef {
  name: string;
  valueFrom: string;
}
export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol: "tcp";
}
export interface MountPoint {
  sourceVolume: string;
  containerPath: string;
  readOnly: boolean;
}
export interface EcsHealthCheck {
  command: string[];
  interval: number;
  timeout: number;
  retries: number;
  startPeriod: number;
}
export interface ContainerDependency {
  containerName: string;
  condition: "SUCCESS";
}
export interface ContainerDefinition {
  name: string;
  image: string;
  /** Private registry login (a Secrets Manager secret {"username","password"}) for this image. */
  repositoryCredentials?: { credentialsParameter: string };
  essential: boolean;
  cpu: number;
  memoryReservation: number;
  entryPoint?: string[];
  command?: string[];
  user?: string;
  portMappings: PortMapping[];
  environment: KeyValuePair[];
  secrets: SecretRef[];
  mountPoints: MountPoint[];
  volumesFrom: never[];
  systemControls: never[];
  readonlyRootFilesystem: boolean;
  healthCheck?: EcsHealthCheck;
  stopTimeout: number;
  linuxParameters: { initProcessEnabled: boolean };
  dependsOn?: ContainerDependency[];
  logConfiguration: { logDriver: "awslogs"; options: Record<string, string>; secretOptions: never[] };
}

export interface ContainerInput {
  service: ServiceLike;
  /** Task-level size from config: the container may use all of it. */
  taskCpu: number;
  taskMemory: number;
  /** ARN per secret env name. Names the service does not read are ignored; unset optional secrets are simply absent. */
  secretArns: Record<string, string>;
  /** Environment replaced or added on this target (non-secret only). */
  environmentOverrides?: Record<string, string>;
  /** A wrapper that runs before the service's command and then execs it (the command stays the contract's). */
  entryPoint?: string[];
  /** Secret env names this target requires: a missing ARN is a programming error, not a silent gap. */
  requiredSecrets?: string[];
  logGroup: string;
  region: string;
  /** Private registry: images on `server` are pulled with the login in Secrets Manager secret `secretArn`. */
  registry?: { server: string; secretArn: string };
}

/** repositoryCredentials for the service's image, when it lives on the configured private registry. */
export function repositoryCredentials(input: ContainerInput): ContainerDefinition["repositoryCredentials"] {
  const r = input.registry;
  return r && registryOf(input.service.image) === r.server ? { credentialsParameter: r.secretArn } : undefined;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Volume name for a writable path: "/var/cache/nginx" -> "scratch-var-cache-nginx". */
export function scratchVolumeName(path: string): string {
  return `scratch${path.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")}`;
}

/** The task definition's `volumes` for a service: one empty task-storage volume per writable path, sorted. */
export function scratchVolumes(service: ServiceLike): { name: string }[] {
  return [...new Set(service.writablePaths.map(scratchVolumeName))].sort().map((name) => ({ name }));
}

export function ecsHealthCheck(h: HealthCheck): EcsHealthCheck {
  // ECS bounds (interval 5-300, timeout 2-120, retries 1-10, startPeriod 0-300): clamp instead of failing at deploy time.
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  return {
    command: [...h.test],
    interval: clamp(h.intervalSeconds, 5, 300),
    timeout: clamp(h.timeoutSeconds, 2, 120),
    retries: clamp(h.retries, 1, 10),
    startPeriod: clamp(h.startPeriodSeconds, 0, 300),
  };
}

export function containerDefinition(input: ContainerInput): ContainerDefinition {
  const { service } = input;
  const env = { ...service.environment, ...(input.environmentOverrides ?? {}) };
  const secretNames = new Set(service.secretEnv);
  for (const name of Object.keys(env)) {
    // A secret must never travel as plain environment, and ECS refuses a name in both lists.
    if (secretNames.has(name)) throw new Error(`${service.name}: ${name} is a secret; it cannot also be plain environment`);
  }
  for (const name of input.requiredSecrets ?? []) {
    if (!input.secretArns[name]) throw new Error(`${service.name}: no Secrets Manager ARN for required secret ${name}`);
  }
  // The same command as on Compose (core/app-contract.ts), never the image's CMD by omission: one start command per app container on every target.
  if (service.name in APP_CONTRACT.commands && !service.command?.length)
    throw new Error(`${service.name}: no command; app containers run the contract's start command`);
  const secrets = service.secretEnv.filter((name) => input.secretArns[name]).map((name) => ({ name, valueFrom: input.secretArns[name] }));

  const def: ContainerDefinition = {
    name: service.name,
    image: service.image,
    repositoryCredentials: repositoryCredentials(input),
    essential: true,
    // One container per task: share the whole task CPU unless the model asks for less.
    cpu: Math.min(Math.round(service.limits.cpus * 1024), input.taskCpu),
    // Soft reservation from the model's budget; the task size is the hard limit (minus the init container's share).
    memoryReservation: Math.min(service.limits.memoryMb, input.taskMemory - (service.writablePaths.length ? INIT_MEMORY : 0)),
    entryPoint: input.entryPoint ? [...input.entryPoint] : undefined,
    command: service.command ? [...service.command] : undefined,
    user: service.user,
    portMappings: service.port === undefined ? [] : [{ containerPort: service.port, hostPort: service.port, protocol: "tcp" }],
    environment: Object.entries(env)
      .map(([name, value]) => ({ name, value }))
      .sort(byName),
    secrets: secrets.sort(byName),
    mountPoints: [...new Set(service.writablePaths)]
      .sort()
      .map((containerPath) => ({ sourceVolume: scratchVolumeName(containerPath), containerPath, readOnly: false })),
    volumesFrom: [],
    systemControls: [],
    readonlyRootFilesystem: true,
    healthCheck: service.health ? ecsHealthCheck(service.health) : undefined,
    stopTimeout: Math.min(service.stopGraceSeconds, MAX_STOP_TIMEOUT),
    // tini as PID 1: SIGTERM reaches node/nginx and zombies are reaped.
    linuxParameters: { initProcessEnabled: true },
    // Starts only once its scratch volumes are writable (see volumeInitContainer).
    dependsOn: service.writablePaths.length ? [{ containerName: `${service.name}${INIT_SUFFIX}`, condition: "SUCCESS" }] : undefined,
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": input.logGroup, "awslogs-region": input.region, "awslogs-stream-prefix": service.name },
      secretOptions: [],
    },
  };
  return def;
}

/**
 * Fargate creates bind-mount volumes owned by root, mode 0755 (aws/containers-roadmap#938),
 * so a non-root process (the backend runs as uid 1001) could not write its scratch
 * paths. This short-lived container (same image, root, no secrets, no environment)
 * makes them sticky world-writable like /tmp and exits; the app container waits for its success.
 */
export function volumeInitContainer(input: ContainerInput): ContainerDefinition | undefined {
  const { service } = input;
  const paths = [...new Set(service.writablePaths)].sort();
  if (paths.length === 0) return undefined;
  for (const p of paths) if (!/^\/[A-Za-z0-9._/-]+$/.test(p)) throw new Error(`${service.name}: writable path ${p} is not a plain absolute path`);
  const name = `${service.name}${INIT_SUFFIX}`;
  return {
    name,
    image: service.image,
    repositoryCredentials: repositoryCredentials(input),
    essential: false,
    cpu: 0,
    memoryReservation: INIT_MEMORY,
    // Our own entry point: whatever the image's ENTRYPOINT is (node, nginx's script), it must not wrap this.
    entryPoint: ["sh", "-c"],
    command: [`chmod 1777 ${paths.join(" ")}`],
    user: "0",
    portMappings: [],
    environment: [],
    secrets: [],
    mountPoints: paths.map((containerPath) => ({ sourceVolume: scratchVolumeName(containerPath), containerPath, readOnly: false })),
    volumesFrom: [],
    systemControls: [],
    readonlyRootFilesystem: true,
    stopTimeout: 2,
    linuxParameters: { initProcessEnabled: true },
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": input.logGroup, "awslogs-region": input.region, "awslogs-stream-prefix": name },
      secretOptions: [],
    },
  };
}

/** JSON for `aws.ecs.TaskDefinition.containerDefinitions`: same input, same bytes. */
export function renderContainerDefinitions(inputs: ContainerInput[]): string {
  return JSON.stringify(
    inputs.flatMap((i) => [containerDefinition(i), volumeInitContainer(i)].filter((d): d is ContainerDefinition => d !== undefined)).sort(byName),
  );
}
