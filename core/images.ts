// Every infrastructure image we run, in one table. Pinned by version; never
// `latest`. `imageOverrides` (config) replaces entries by key, for private
// mirrors, digests, and the end-to-end test's locally built stand-ins.
// Why each image was chosen is in docs/compose.md ("Images").

export interface ImageSpec {
  /** Pinned reference. */
  image: string;
  /** uid the main process runs as: secret files it reads are owned by this uid. */
  uid: number;
  /** What the healthcheck may rely on being inside the image. */
  healthTool: string;
}

export const IMAGES = {
  caddy: { image: "caddy:2.10.2-alpine", uid: 0, healthTool: "busybox wget" },
  postgres: { image: "postgres:16.10-alpine", uid: 70, healthTool: "pg_isready" },
  pgbouncer: { image: "edoburu/pgbouncer:v1.24.1-p1", uid: 70, healthTool: "busybox nc" },
  redis: { image: "valkey/valkey:8.1.3-alpine", uid: 999, healthTool: "valkey-cli" },
  objectstore: { image: "chrislusf/seaweedfs:3.96", uid: 0, healthTool: "busybox wget" },
  rclone: { image: "rclone/rclone:1.71.1", uid: 0, healthTool: "rclone" },
  prometheus: { image: "prom/prometheus:v3.6.0", uid: 65534, healthTool: "busybox wget" },
  alertmanager: { image: "prom/alertmanager:v0.28.1", uid: 65534, healthTool: "busybox wget" },
  grafana: { image: "grafana/grafana:12.2.0", uid: 472, healthTool: "busybox wget" },
  loki: { image: "grafana/loki:3.5.5", uid: 10001, healthTool: "busybox wget (loki image ships /usr/bin/wget)" },
  alloy: { image: "grafana/alloy:v1.11.0", uid: 65534, healthTool: "bash /dev/tcp" },
  // Allow-list Docker API proxy (regex per method), multi-arch index digest of 1.13.1.
  "docker-socket-proxy": {
    image: "wollomatic/socket-proxy:1.13.1@sha256:3935b709275e4ec35d6ed5a5c4a1f0d01ed31eec5e7234efc3357ecd47689002",
    uid: 65534,
    healthTool: "./healthcheck (built into the image, enabled by -allowhealthcheck)",
  },
  "node-exporter": { image: "prom/node-exporter:v1.9.1", uid: 65534, healthTool: "busybox wget" },
  "blackbox-exporter": { image: "prom/blackbox-exporter:v0.27.0", uid: 65534, healthTool: "busybox wget" },
} as const satisfies Record<string, ImageSpec>;

export type ImageKey = keyof typeof IMAGES;

/** The image to run for `key`, after the stack's overrides. */
export function imageFor(key: ImageKey, overrides: Record<string, string>): string {
  return overrides[key] ?? IMAGES[key].image;
}

/** Override keys that name no image: config validation reports them. */
export function unknownOverrideKeys(overrides: Record<string, string>): string[] {
  return Object.keys(overrides).filter((k) => !(k in IMAGES) && !["backend", "worker", "frontend"].includes(k));
}

// ---- digests ---------------------------------------------------------------
// A tag can be re-pushed; a digest cannot. With `imageDigests` on (the default),
// components/shared/image-digests.ts looks every tag up in its registry at
// preview/up and the release ships `name:tag@sha256:…` (the tag stays for humans;
// Docker pulls by the digest), so a release and its rollback run the same bytes.

const DIGEST_SUFFIX = /@sha256:[a-f0-9]{64}$/;

/** True when the reference already names its bytes (`…@sha256:<64 hex>`). */
export function hasDigest(ref: string): boolean {
  return DIGEST_SUFFIX.test(ref);
}

/** `name:tag` + digest -> `name:tag@sha256:…`. A reference that already carries a digest is kept as it is. */
export function withDigest(ref: string, digest: string): string {
  if (hasDigest(ref)) return ref;
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`registry returned "${digest}" for ${ref}, not a sha256 digest`);
  return `${ref}@${digest}`;
}

/** The app and infrastructure images of a stack, after pinning: `pinned` maps a reference to its pinned form. */
export function pinImageSettings<T extends { images: { backend: string; worker: string; frontend: string }; imageOverrides: Record<string, string> }>(
  app: T,
  pinned: Record<string, string>,
): T {
  const pin = (ref: string) => pinned[ref] ?? ref;
  const imageOverrides: Record<string, string> = { ...app.imageOverrides };
  for (const key of Object.keys(IMAGES) as ImageKey[]) {
    const ref = imageFor(key, app.imageOverrides);
    if (pinned[ref]) imageOverrides[key] = pinned[ref];
  }
  return { ...app, images: { backend: pin(app.images.backend), worker: pin(app.images.worker), frontend: pin(app.images.frontend) }, imageOverrides };
}

/** Registry host of a reference, as Docker resolves it (`docker.io` when the first part is not a host). */
export function registryOf(ref: string): string {
  const first = ref.split("/")[0];
  return ref.includes("/") && (/[.:]/.test(first) || first === "localhost") ? first : "docker.io";
}
