// The application's services as typed data: the single source of truth that the
// Compose renderer (compose/render/*) and the ECS translation (components/aws)
// both read. Change a health check or a limit here and both targets change.
import { AppSettings } from "./config";
import { APP_CONTRACT, rateLimitEnv } from "./app-contract";

export const APP_UID = APP_CONTRACT.uid;

export interface HealthCheck {
  /** Exec form, as Docker and ECS both accept: ["CMD-SHELL", "..."] or ["CMD", ...]. */
  test: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

export interface AppService {
  name: "backend" | "worker" | "frontend" | "migrate";
  image: string;
  /** Full command. App services always set it (core/app-contract.ts): the with-secrets entrypoint drops the image's CMD. */
  command?: string[];
  /** Container port the service listens on, if any. */
  port?: number;
  user?: string;
  /** Non-secret environment, identical on every target. */
  environment: Record<string, string>;
  /** Names of environment variables whose values are secrets (delivered as files on Compose, Secrets Manager on ECS). */
  secretEnv: string[];
  health?: HealthCheck;
  /** Budget on the 2 vCPU / 4 GB reference host (the sum is in compose/render/budget.ts); ECS sizes come from config. */
  limits: { cpus: number; memoryMb: number };
  /** Longer than the longest request, so SIGTERM drains in-flight work. */
  stopGraceSeconds: number;
  /** The process can run with a read-only root filesystem given these writable paths. */
  writablePaths: string[];
}

/** Secrets the backend and worker read (all optional ones included: the wrapper skips empty files). */
export const APP_SECRET_ENV = [
  "DATABASE_URL",
  "REDIS_URL",
  "JWT_SECRET",
  "TTN_ENCRYPTION_SALT",
  "STACK_AUTH_SECRET_KEY",
  "TTN_API_KEY",
  "TTN_ADMIN_API_KEY",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "RESEND_API_KEY",
  "TELNYX_API_KEY",
  "SENTRY_DSN",
  "MINIO_ROOT_USER",
  "MINIO_ROOT_PASSWORD",
] as const;
export type AppSecretEnv = (typeof APP_SECRET_ENV)[number];

export interface AppModelInput {
  app: AppSettings;
  /** Public base URL of object storage as browsers reach it (presigned URLs are built from it). */
  objectStoreEndpoint: string;
  assetsBucket: string;
}

/**
 * The worker has no port and the app no heartbeat, so its check is what it cannot work
 * without: its process (PID 1, the app itself behind exec) and its queue. Node (in the
 * image) sends AUTH + PING to REDIS_URL, read from the container's environment (ECS
 * secrets) or from /run/secrets/env/REDIS_URL (Compose): never in the command string.
 * rediss:// (ElastiCache in-transit encryption) goes through TLS.
 */
export const WORKER_QUEUE_CHECK = [
  "const fs=require('fs'),net=require('net'),tls=require('tls');",
  "const f='/run/secrets/env/REDIS_URL';",
  "const u=new URL(process.env.REDIS_URL||(fs.existsSync(f)?fs.readFileSync(f,'utf8').trim():''));",
  "const pw=decodeURIComponent(u.password),port=Number(u.port||6379);",
  "const s=u.protocol==='rediss:'?tls.connect({host:u.hostname,port,servername:u.hostname}):net.connect(port,u.hostname);",
  // No literal dollar sign (Compose would take it for interpolation): \x24 is the RESP bulk-string marker.
  "const cmd=(...a)=>'*'+a.length+'\\r\\n'+a.map((x)=>'\\x24'+Buffer.byteLength(x)+'\\r\\n'+x+'\\r\\n').join('');",
  "let out='';s.setTimeout(2500,()=>process.exit(1));s.on('error',()=>process.exit(1));",
  "s.on('data',(d)=>{out+=d;if(out.includes('+PONG'))process.exit(0);if(out.startsWith('-'))process.exit(1);});",
  "s.write((pw?cmd('AUTH',pw):'')+cmd('PING'));",
].join("");

const httpCheck = (port: number, path: string, startPeriodSeconds: number): HealthCheck => ({
  // busybox wget is in both the Node Alpine and nginx Alpine images.
  test: ["CMD-SHELL", `wget -q -T 3 -O /dev/null http://127.0.0.1:${port}${path} || exit 1`],
  intervalSeconds: 5,
  timeoutSeconds: 4,
  retries: 6,
  startPeriodSeconds,
});

/** Non-secret environment of backend, worker and migrate. Sorted keys: stable output, no spurious diffs. */
export function appEnvironment(input: AppModelInput): Record<string, string> {
  const { app } = input;
  const url = `https://${app.domain}`;
  const env: Record<string, string> = {
    NODE_ENV: "production",
    PORT: String(APP_CONTRACT.ports.backend),
    // One bucket holds every webhook behind the proxy: sized for the fleet (core/app-contract.ts RATE_LIMIT_SIZING).
    ...rateLimitEnv(app.rateLimit.max, app.rateLimit.windowMs),
    LOG_LEVEL: app.logLevel,
    API_BASE_URL: url,
    APP_URL: url,
    FRONTEND_URL: url,
    CORS_ORIGINS: url,
    STACK_AUTH_PROJECT_ID: app.stackAuthProjectId,
    STACK_AUTH_PUBLISHABLE_KEY: app.stackAuthPublishableKey,
    TTN_API_URL: app.ttnApiUrl,
    TTN_APPLICATION_ID: app.ttnApplicationId,
    EMAIL_FROM_ADDRESS: app.emailFromAddress,
    TELNYX_PHONE_NUMBER: app.telnyxPhoneNumber,
    TELNYX_MESSAGING_PROFILE_ID: app.telnyxMessagingProfileId,
    MINIO_ENDPOINT: input.objectStoreEndpoint,
    MINIO_BUCKET_ASSETS: input.assetsBucket,
  };
  return sortKeys(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")));
}

export function appServices(input: AppModelInput): Record<AppService["name"], AppService> {
  const environment = appEnvironment(input);
  const secretEnv = [...APP_SECRET_ENV];
  return {
    backend: {
      name: "backend",
      image: input.app.images.backend,
      command: [...APP_CONTRACT.commands.backend],
      port: APP_CONTRACT.ports.backend,
      user: String(APP_UID),
      environment,
      secretEnv,
      // Readiness (database reachable) gates traffic; liveness alone would let a backend with no DB take webhooks.
      health: httpCheck(APP_CONTRACT.ports.backend, APP_CONTRACT.health.ready.path, 20),
      limits: { cpus: 0.5, memoryMb: 512 },
      stopGraceSeconds: 45,
      writablePaths: ["/tmp"],
    },
    worker: {
      name: "worker",
      image: input.app.images.worker,
      command: [...APP_CONTRACT.commands.worker],
      user: String(APP_UID),
      environment,
      secretEnv,
      // No port, no heartbeat in the app: its process and its queue (WORKER_QUEUE_CHECK).
      health: { test: ["CMD", "node", "-e", WORKER_QUEUE_CHECK], intervalSeconds: 10, timeoutSeconds: 4, retries: 3, startPeriodSeconds: 10 },
      limits: { cpus: 0.3, memoryMb: 384 },
      stopGraceSeconds: 60,
      writablePaths: ["/tmp"],
    },
    frontend: {
      name: "frontend",
      image: input.app.images.frontend,
      port: APP_CONTRACT.ports.frontend,
      // nginx's unprivileged uid (101 in the official and the -unprivileged images): port 8080 and the
      // writable paths below are all it needs, so the master never runs as root (AWS: "non-root users").
      user: "101",
      environment: {},
      secretEnv: [],
      health: httpCheck(APP_CONTRACT.ports.frontend, APP_CONTRACT.frontendHealthPath, 5),
      limits: { cpus: 0.1, memoryMb: 64 },
      stopGraceSeconds: 15,
      writablePaths: ["/tmp", "/var/cache/nginx", "/var/run"],
    },
    migrate: {
      name: "migrate",
      image: input.app.images.backend,
      // Drizzle, forward-only; must reach PostgreSQL directly (DATABASE_URL is the direct URL here).
      command: [...APP_CONTRACT.commands.migrate],
      user: String(APP_UID),
      environment,
      secretEnv: ["DATABASE_URL"],
      limits: { cpus: 0.5, memoryMb: 256 },
      stopGraceSeconds: 30,
      writablePaths: ["/tmp"],
    },
  };
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
