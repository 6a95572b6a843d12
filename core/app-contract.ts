// The runtime contract of the FreshTrack app images, as read from the application's
// own source: what our deployment relies on. The model (core/model.ts, so the
// Compose bundle and the ECS task definitions), the e2e stand-in app (tests/e2e/app)
// and the contract test (tests/unit/app-contract.test.ts) all read it: a change of
// the app's contract is one edit here. Plain data, no Pulumi: the stand-in's build
// and the e2e import it too. docs/app-contract.md explains each fact.

export const APP_CONTRACT = {
  /**
   * What each image runs. Every app container's entrypoint is replaced by the
   * with-secrets wrapper (Compose), which drops the image's CMD: the command must
   * be passed explicitly, so it is written here once.
   */
  commands: {
    backend: ["node", "dist/src/index.js"],
    worker: ["node", "dist/workers/index.js"],
    migrate: ["node", "dist/src/db/migrate.js"],
  },
  /** The worker's code also sits in the backend image, at this path. */
  workerPathInBackendImage: "dist/src/workers/index.js",
  /** Working directory of the app images (relative command paths resolve against it). */
  workdir: "/app",
  ports: { backend: 3000, frontend: 8080 },
  /** Backend, worker (and migrate) images run as this uid. */
  uid: 1001,
  health: {
    /** Liveness: the process is up; never touches dependencies. */
    live: { path: "/health/live", body: { alive: true } },
    /** Readiness: the database is reachable. Load balancers and Compose gate traffic on it. */
    ready: { path: "/health/ready", body: { ready: true } },
    /** Database and Redis: 503 when the database is down (and while Redis is not configured). */
    full: { path: "/health", downStatus: 503 },
    /** Every path under this prefix is exempt from the rate limit. */
    prefix: "/health",
  },
  frontendHealthPath: "/health",
  webhook: {
    method: "POST",
    path: "/api/webhooks/ttn",
    /** The organisation's webhook secret, in either header. */
    authHeaders: ["X-API-Key", "X-Webhook-Secret"],
    status: { badBody: 400, badKey: 401, unknownDevice: 404 },
    /** TTN v3 uplink fields the app validates. */
    requiredFields: [
      "end_device_ids.device_id",
      "end_device_ids.dev_eui",
      "end_device_ids.application_ids.application_id",
      "received_at",
      "uplink_message.f_port",
      "uplink_message.f_cnt",
      "uplink_message.decoded_payload",
    ],
  },
  /** Where the backend stores each reading. */
  readingsTable: "sensor_readings",
  database: { name: "frostguard", role: "frostguard" },
  rateLimit: {
    maxEnv: "RATE_LIMIT_MAX",
    windowEnv: "RATE_LIMIT_WINDOW",
    /** What the app uses when the variables are absent: 100 requests per 60 000 ms. */
    appDefaultMax: 100,
    appDefaultWindowMs: 60000,
    status: 429,
    /** Key of the in-memory, per-instance bucket. No proxy trust: behind Caddy or the ALB every client is the proxy. */
    keyedOn: ["peer address", "User-Agent"],
    trustsProxyHeaders: false,
    perInstance: true,
  },
  /** The backend exits at start without these. */
  requiredEnv: ["DATABASE_URL", "STACK_AUTH_PROJECT_ID"],
  /** Without REDIS_URL the backend starts with queues disabled and /health answers 503. */
  optionalRedisEnv: "REDIS_URL",
  /** The worker starts with no variable at all and keeps retrying its connections. */
  workerRequiredEnv: [] as string[],
} as const;

export type AppCommandName = keyof typeof APP_CONTRACT.commands;

/** `RATE_LIMIT_MAX` / `RATE_LIMIT_WINDOW` for a limit of `max` requests per `windowMs`. */
export function rateLimitEnv(max: number, windowMs: number): Record<string, string> {
  return { [APP_CONTRACT.rateLimit.maxEnv]: String(max), [APP_CONTRACT.rateLimit.windowEnv]: String(windowMs) };
}

/**
 * How the default rate limit was chosen (docs/app-contract.md shows the same arithmetic).
 * Behind Caddy or the ALB every TTN webhook shares one bucket (one peer address, one
 * User-Agent), and UI users behind the same proxy share it too when their browsers send
 * the same User-Agent, so the limit must hold the whole customer's traffic per window.
 */
export const RATE_LIMIT_SIZING = {
  /** The largest fleet we size for: the webhook rate the e2e proves with 0 lost on the 2 vCPU reference host (60/s). */
  fleetUplinksPerMinute: 3600,
  /** TTN delivers a gateway's or the network's backlog in bursts after an outage; redeliveries count too. */
  burstHeadroom: 2,
  /** Non-webhook traffic in the same bucket: 40 UI users at one API call a second. */
  uiUsers: 40,
  uiRequestsPerUserPerMinute: 60,
  /** Rounded up to this step. */
  roundTo: 1000,
} as const;

export function defaultRateLimitMax(s: typeof RATE_LIMIT_SIZING = RATE_LIMIT_SIZING): number {
  const need = s.fleetUplinksPerMinute * s.burstHeadroom + s.uiUsers * s.uiRequestsPerUserPerMinute;
  return Math.ceil(need / s.roundTo) * s.roundTo;
}

/** 3600 × 2 + 40 × 60 = 9600 → 10000 requests per minute. */
export const DEFAULT_RATE_LIMIT_MAX = defaultRateLimitMax();
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60000;
