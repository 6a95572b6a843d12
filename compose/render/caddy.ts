// Caddy's configuration in Caddy's *native* format: JSON is what Caddy itself
// runs (a Caddyfile is only an adapter that produces this JSON). Emitting it
// from typed data means no Caddyfile grammar to escape, and `caddy validate`
// checks exactly the document that will run.
//
// Zero-downtime deploys: a container leaves the proxy's rotation BEFORE it is
// stopped, so no request is ever sent to a closing backend. The rendered config
// names each app upstream by its Compose service (`backend:3000`: Docker's DNS
// of every container of the service, right when one container runs, e.g. after
// a host reboot). During a roll, bin/deploy loads a copy of this document into
// Caddy's admin API (container-local, never published) whose app upstreams are
// the *container names* that should serve, then waits for in-flight requests
// and only then stops the old container (lib.sh `ft_proxy_route`).
// Why not DNS: with Docker's A record as a dynamic upstream, the old container
// stays in DNS until it has exited, so requests reach it while it closes; Caddy
// can only save those by retrying, and retrying a request *with a body* is
// unsafe in Caddy: 2.6 replays an empty or another request's buffered body
// (seen in our end-to-end run: a 202 answered for another reading), later
// versions fail with "invalid Read on closed Body" (caddyserver/caddy#5454,
// #7360, #7546). So request bodies are never buffered for a retry: a request
// whose dial fails is retried only when it has no body (GET health checks,
// SPA assets); a POST then fails visibly (502), never silently.
// Both `try_duration` (time window) and `retries` (count) are set; whichever
// ends first stops the retries. Checked with the real caddy 2.6 binary, which
// rejects unknown fields (tests/tools/caddy-validate.test.ts).
import type { BundleInput } from "../bundle";

export const BACKEND_PATHS = ["/api/*", "/trpc/*", "/socket.io/*", "/health*", "/unsubscribe*"] as const;
export const LB_TRY_DURATION = "20s";
export const LB_TRY_INTERVAL = "250ms";
export const LB_RETRIES = 60;
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

/** The dial address of a service in the rendered config; bin/deploy swaps it for container names. */
export function serviceDial(u: Upstream): string {
  return `${u.service}:${u.port}`;
}

function appProxy(u: Upstream): Json {
  return {
    handler: "reverse_proxy",
    // No `rewrite` and no `strip_path_prefix` anywhere: the path reaches the app unchanged (APP.md).
    upstreams: [{ dial: serviceDial(u) }],
    load_balancing: {
      selection_policy: { policy: "round_robin" },
      try_duration: LB_TRY_DURATION,
      try_interval: LB_TRY_INTERVAL,
      retries: LB_RETRIES,
    },
    // Short dial timeout: a container that is restarting fails fast and a body-less request is retried.
    transport: { protocol: "http", dial_timeout: "2s" },
  };
}

function staticProxy(u: Upstream): Json {
  return {
    handler: "reverse_proxy",
    upstreams: [{ dial: serviceDial(u) }],
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
    r.paths === "*" ? { handle: [appProxy(r.upstream)] } : { match: [{ path: r.paths }], handle: [appProxy(r.upstream)] },
  );
  const routes: Json[] = [
    { match: [{ host: [domain] }], handle: [hsts, { handler: "subroute", routes: appHandlers }], terminal: true },
  ];
  // Presigned URLs are signed over the Host header: Caddy forwards it unchanged (no header rewrite).
  if (s3Host) routes.push({ match: [{ host: [s3Host] }], handle: [hsts, staticProxy(OBJECTSTORE)], terminal: true });

  const issuer: Json = tlsMode === "internal" ? { module: "internal" } : { module: "acme", email: operatorEmail };

  return {
    // Reachable only inside the container: bin/deploy loads the rolling upstreams through it; never published.
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
