// The ONE place that maps image keys (core/images.ts and the app images) to the
// locally built stand-ins. The harness passes `imageOverrides(...)` and the app images
// to the program as config, exactly like a user with a private mirror would.
import * as path from "path";
import { IMAGES, ImageKey } from "../../core/images";

export interface StandIn {
  /** Key in core/images.ts, or backend/worker/frontend. */
  key: ImageKey | "backend" | "worker" | "frontend";
  /** Build context directory, relative to tests/e2e. */
  dir: string;
  /** Dockerfile inside the context (default Dockerfile). */
  dockerfile?: string;
  /** Copy the host's Node binary into the context as ./node. */
  node?: boolean;
  /** npm packages (with their dependency closure) copied from the host's node_modules into ./node_modules. */
  modules?: string[];
  /** What the stand-in reproduces of the image it replaces (also in images/README.md). */
  replaces: string;
}

export const E2E_DIR = __dirname;

/** Infrastructure images the vm stack runs with observability off. */
export const INFRA_STAND_INS: StandIn[] = [
  { key: "postgres", dir: "images/postgres", replaces: IMAGES.postgres.image },
  { key: "pgbouncer", dir: "images/pgbouncer", replaces: IMAGES.pgbouncer.image },
  { key: "redis", dir: "images/redis", replaces: IMAGES.redis.image },
  { key: "caddy", dir: "images/caddy", replaces: IMAGES.caddy.image },
  { key: "objectstore", dir: "images/objectstore", node: true, modules: ["s3rver"], replaces: IMAGES.objectstore.image },
  { key: "rclone", dir: "images/rclone", replaces: IMAGES.rclone.image },
];

/** The app: the backend image serves backend and migrate (as the real one does); the worker has its own image (its real command and path). */
export const APP_STAND_INS: StandIn[] = [
  { key: "backend", dir: "app/backend", node: true, modules: ["pg", "ioredis"], replaces: "ghcr.io/<org>/frostguard-backend" },
  { key: "worker", dir: "app/backend", dockerfile: "Dockerfile.worker", node: true, modules: ["pg", "ioredis"], replaces: "ghcr.io/<org>/frostguard-worker" },
  { key: "frontend", dir: "app/frontend", node: true, replaces: "ghcr.io/<org>/frostguard-frontend" },
];

/** Observability images are not stood in: the e2e stack runs with `observability: false`. */
export const NOT_STOOD_IN: ImageKey[] = (Object.keys(IMAGES) as ImageKey[]).filter((k) => !INFRA_STAND_INS.some((s) => s.key === k));

export function contextDir(s: StandIn): string {
  return path.join(E2E_DIR, s.dir);
}

/** `imageOverrides` config entries (KEY=IMAGE) from built tags. */
export function imageOverrides(tags: Record<string, string>): string[] {
  return INFRA_STAND_INS.map((s) => {
    const tag = tags[s.key];
    if (!tag) throw new Error(`stand-in ${s.key} was not built`);
    return `${s.key}=${tag}`;
  });
}

/** backendImage/workerImage/frontendImage config from built tags; `backendTag` replaces the backend image for a release. */
export function appImages(tags: Record<string, string>, backendTag?: string): { backendImage: string; workerImage: string; frontendImage: string } {
  return { backendImage: backendTag ?? tags.backend, workerImage: tags.worker, frontendImage: tags.frontend };
}
