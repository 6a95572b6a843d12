// Caddy's configuration in Caddy's *native* format: JSON is what Caddy itself
// runs (a Caddyfile is only an adapter that produces this JSON). Emitting it
// from typed data means no Caddyfile grammar to escape, and `caddy validate`
// checks exactly the document that will run.
//
// Zero-downtime deploys rest on the two app proxies:
//  - dynamic upstreams: Docker's DNS A record of `backend` (and `frontend`) is
//    re-read every second, so a second backend container started by bin/deploy
//    receives traffic within ~1 s, and a stopped one drops out;
//  - retries: a request whose dial fails (old container stopped listening after
//    SIGTERM, or its IP is gone) is retried on another upstream for up to
//    LB_TRY_DURATION. A dial failure means the request was never sent, so even
//    a TTN webhook POST is retried safely.
// Caddy's active health checks only probe *static* upstreams (maintainers,
// caddyserver/caddy#7036: "when using dynamic, the health decision is the dynamic
// module's responsibility"); passive health state of dynamic upstreams is
// discarded after each request (#7037). So readiness is gated by Docker instead:
// bin/deploy only stops the old backend once the new one's healthcheck
// (/health/ready) passes, and the retry window covers the moments in between.
// A retried POST needs its body again: without request buffering Caddy answers
// 502 "invalid Read on closed Body" (caddyserver/caddy#5454, #7546; reproduced
// by tests/tools/caddy-routing.test.ts). `buffer_requests` is the spelling the
// 2.6 binary in CI knows (2.6.4+ deprecate it for `request_buffers`, keeping it
// as unlimited buffering); backend request bodies are small JSON (uploads go to
// the object store through presigned URLs), so buffering them is cheap.
// Both `try_duration` (time window) and `retries` (count) are set; whichever
// ends first stops the retries. Checked with the real caddy 2.6 binary, which
// rejects unknown fields (tests/tools/caddy-validate.test.ts).
import type { BundleInput } from "../bundle";

export const BACKEND_PATHS = ["/api/*", "/trpc/*", "/socket.io/*", "/health*", "/unsubscribe*"] as const;
export const LB_TRY_DURATION = "20s";
export const LB_TRY_INTERVAL = "250ms";
export const LB_RETRIES = 60;
export const DNS_REFRESH = "1s";
export const HSTS = "max-age=31536000";
/** Internal, container-local listener for the container healthcheck (never published). */
export const HEALTH_LISTEN = "127.0.0.1:2020";
export const HEALTH_PATH = "/caddy-health";

export interface Upstream {
  service: string;
  port: number;
}
export const BACKEND: Upstream = { service: "backend", port: 3000 };
export const FRONTEND: Upstream = { service: "frontend", port: 8080 };
export const OBJECTSTORE: Upstream = { service: "objectstore", port: 8333 };

/** The routing table of the app host, in match order (first match wins; the last has no matcher). */
export function appRoutes(): { paths: string[] | "*"; upstream: Upstream }[] {
  return [
    { paths: [...BACKEND_PATHS], upstream: BACKEND },
    { paths: "*", upstream: FRONTEND },
  ];
}

/** Hostname browsers use for presigned object URLs on vm (`s3.<domain>`); none on digitalocean (Spaces). */
export function objectStoreHost(input: BundleInput): string | undefined {
  if (input.target !== "vm") return undefined;
  return new URL(input.objectStore.publicEndpoint).hostname;
}

type Json = Record<string, unknown>;

function dynamicProxy(u: Upstream): Json {
  return {
    handler: "reverse_proxy",
    // No `rewrite` and no `strip_path_prefix` anywhere: the path reaches the app unchanged (APP.md).
    dynamic_upstreams: { source: "a", name: u.service, port: String(u.port), refresh: DNS_REFRESH },
    load_balancing: {
      selection_policy: { policy: "round_robin" },
      try_duration: LB_TRY_DURATION,
      try_interval: LB_TRY_INTERVAL,
      retries: LB_RETRIES,
    },
    buffer_requests: true,
    // Short dial timeout: an address whose container is gone fails fast and the request moves on.
    transport: { protocol: "http", dial_timeout: "2s" },
  };
}

function staticProxy(u: Upstream): Json {
  return {
    handler: "reverse_proxy",
    upstreams: [{ dial: `${u.service}:${u.port}` }],
    load_balancing: { try_duration: "5s", try_interval: LB_TRY_INTERVAL },
    transport: { protocol: "http", dial_timeout: "2s" },
  };
}

const hsts: Json = { handler: "headers", response: { set: { "Strict-Transport-Security": [HSTS] } } };

export function caddyConfig(input: BundleInput): Json {
  const { domain, operatorEmail, tlsMode } = input.config.app;
  const s3Host = objectStoreHost(input);
  const hosts = [domain, ...(s3Host ? [s3Host] : [])];

  const appHandlers: Json[] = appRoutes().map((r) =>
    r.paths === "*" ? { handle: [dynamicProxy(r.upstream)] } : { match: [{ path: r.paths }], handle: [dynamicProxy(r.upstream)] },
  );
  const routes: Json[] = [
    { match: [{ host: [domain] }], handle: [hsts, { handler: "subroute", routes: appHandlers }], terminal: true },
  ];
  // Presigned URLs are signed over the Host header: Caddy forwards it unchanged (no header rewrite).
  if (s3Host) routes.push({ match: [{ host: [s3Host] }], handle: [hsts, staticProxy(OBJECTSTORE)], terminal: true });

  const issuer: Json = tlsMode === "internal" ? { module: "internal" } : { module: "acme", email: operatorEmail };

  return {
    // Reachable only inside the container: used by `caddy reload`, never published.
    admin: { listen: "localhost:2019" },
    apps: {
      http: {
        // In-flight requests (webhooks, long polls) get this long when a config reload or stop happens.
        grace_period: "30s",
        servers: {
          public: {
            // Automatic HTTPS adds the :80 listener that redirects HTTP to HTTPS (and serves ACME HTTP-01).
            listen: [":443"],
            // HTTP/3 would need UDP 443 published and allowed by the firewall: not offered.
            protocols: ["h1", "h2"],
            routes,
          },
          health: {
            listen: [HEALTH_LISTEN],
            automatic_https: { disable: true },
            routes: [{ match: [{ path: [HEALTH_PATH] }], handle: [{ handler: "static_response", status_code: 200, body: "ok" }] }],
          },
        },
      },
      tls: { automation: { policies: [{ subjects: hosts, issuers: [issuer] }] } },
      // internal mode: Caddy's own CA signs the certificates. Never try to install its root into
      // the container's trust store (pointless there); operators import it from the caddy_data volume.
      ...(tlsMode === "internal" ? { pki: { certificate_authorities: { local: { install_trust: false } } } } : {}),
    },
  };
}

export function renderCaddyJson(input: BundleInput): string {
  return JSON.stringify(caddyConfig(input), null, 2) + "\n";
}
