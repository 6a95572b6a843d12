// Caddy's configuration in Caddy's *native* format: JSON is what Caddy itself
// runs (a Caddyfile is only an adapter that produces this JSON). Emitting it
// from typed data means no Caddyfile grammar to escape, and `caddy validate`
// checks exactly the document that will run.
//
// Zero-downtime deploys: a container leaves the proxy's rotation BEFORE it is
// stopped, and Caddy's config never changes during a deploy.
//  - Each rolling service has two *slots*, container names `freshtrack-<svc>-blue`
//    and `-green` (bin/deploy renames a new container into the free slot once it
//    is healthy). Which slot serves is a marker FILE in the proxy state directory
//    (`<svc>.blue` or `<svc>.green`, swapped with one atomic rename by bin/deploy);
//    Caddy's `file` matcher looks at it on every request. So traffic moves to the
//    new container at one instant, requests already sent to the old one finish,
//    and only then is it stopped: no request reaches a closing container.
//  - Why not a config reload through the admin API: a reload closes every idle
//    client keep-alive connection, and an HTTP/1.1 client that had just sent a
//    request on one gets ECONNRESET (seen in our end-to-end run, about one per
//    deploy at 60 readings/s). Why not Docker's DNS as dynamic upstreams: the old
//    container stays in DNS until it has exited, so requests reach it while it
//    closes, and only a retry could save them.
//  - Retrying a request *with a body* is unsafe in Caddy: 2.6 replays an empty or
//    another request's buffered body (seen: a 202 answered for another reading),
//    later versions fail with "invalid Read on closed Body" (caddyserver/caddy
//    #5454, #7360, #7546). So bodies are never buffered for retries: a dial
//    failure is retried only for body-less requests; a POST fails visibly (502).
//  - Each slot route falls back to the service name (`backend:3000`, Docker's DNS
//    of every container of the service) when its container name does not resolve
//    (e.g. after a manual `docker compose up --force-recreate`, which names
//    containers by number; the next bin/deploy renames them back); Caddy's active
//    health checks notice that within a second, in the background, so requests
//    never wait on a name that does not resolve.
//    With no marker at all (first start) the service name serves.
// Checked with the real caddy 2.6 binary, which rejects unknown fields
// (tests/tools/caddy-validate.test.ts), and run for real, switch included
// (tests/tools/caddy-routing.test.ts).
import type { BundleInput } from "../bundle-input";
import { PROJECT_NAME } from "./compose-types";

export const BACKEND_PATHS = ["/api/*", "/trpc/*", "/socket.io/*", "/health*", "/unsubscribe*"] as const;
export const LB_TRY_DURATION = "20s";
export const LB_TRY_INTERVAL = "250ms";
export const LB_RETRIES = 60;
/** Caddy's logger of active health checks (left out of the log, see caddyConfig). */
export const HEALTH_CHECK_LOGGER = "http.handlers.reverse_proxy.health_checker.active";
/** Active health check period of the app upstreams; bin/deploy's settle time (3 s) must exceed it. */
export const HEALTH_INTERVAL = "1s";
/** How long Caddy keeps an unused connection to an upstream open (Caddy's default: 2 min). */
export const UPSTREAM_IDLE_TIMEOUT = "2s";
export const HSTS = "max-age=31536000";
/** Where the caddy container sees the slot markers (bind mount of APP_DIR/state/proxy, read-only). */
export const PROXY_STATE_DIR = "/srv/freshtrack/proxy";
export const SLOTS = ["blue", "green"] as const;
export type Slot = (typeof SLOTS)[number];
/**
 * During a move (docs/move.md): while this marker exists in PROXY_STATE_DIR, every request for
 * the app's hosts goes to the move's request holder (compose/files/move/hold.js), which keeps it
 * through the write freeze and sends it to the new side. A marker file, not a config load, for
 * the reason above: a load closes idle keep-alive connections.
 */
export const MOVE_FORWARD_MARKER = "move.forward";
/** Container name of the holder (bin/lib/hold.sh starts it on the caddy container's networks). */
export const MOVE_HOLD_CONTAINER = `${PROJECT_NAME}-move-hold`;
export const MOVE_HOLD_PORT = 3000;

/** Internal, container-local listener for the container healthcheck (never published). */
export const HEALTH_LISTEN = "127.0.0.1:2020";
export const HEALTH_PATH = "/caddy-health";

export interface Upstream {
  service: string;
  port: number;
  /** A GET that answers 200 while the process serves (bin/deploy checks a new slot through it from the caddy container). */
  health: string;
}
export const BACKEND: Upstream = { service: "backend", port: 3000, health: "/health/live" };
export const FRONTEND: Upstream = { service: "frontend", port: 8080, health: "/health" };
export const OBJECTSTORE: Upstream = { service: "objectstore", port: 8333, health: "/healthz" };

/** release.json `.proxy`: the rolling services behind the slot markers, with their port and liveness path. */
export function proxiedServices(): Record<string, { port: number; health: string }> {
  return Object.fromEntries(appRoutes().map((r) => [r.upstream.service, { port: r.upstream.port, health: r.upstream.health }]));
}

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

/** The dial address of a service by its Compose name (Docker's DNS of all its containers). */
export function serviceDial(u: Upstream): string {
  return `${u.service}:${u.port}`;
}

/** Container name of a slot: bin/deploy renames a healthy new container to it. */
export function slotContainer(service: string, slot: Slot): string {
  return `${PROJECT_NAME}-${service}-${slot}`;
}

/** Marker file (in PROXY_STATE_DIR) whose presence sends the service's traffic to that slot. */
export function slotMarker(service: string, slot: Slot): string {
  return `${service}.${slot}`;
}

/** Caddy's connections to every upstream (app slots, object store, a move's holder). */
const UPSTREAM_TRANSPORT: Json = {
  protocol: "http",
  // Short dial timeout: a container that is restarting fails fast and a body-less request is retried.
  dial_timeout: "2s",
  // A stopping Node server (the backend: Fastify) waits for every open connection, and closes at once
  // only those that have served a request. A connection Caddy dialed and then never used stays open
  // until Caddy closes it, after 2 minutes by Caddy's default: longer than the backend's stop grace,
  // so a move's write freeze or a deploy's retired slot could wait that long. 2 s bounds the wait, and
  // is below Node's (5 s) and Fastify's (72 s) keep-alive timeouts, so an idle connection is closed
  // by Caddy, never by the app as Caddy reuses it. Setting keep_alive replaces all of Caddy's
  // defaults, so its 30 s TCP probes and 32 idle connections per upstream are restated.
  keep_alive: { probe_interval: "30s", max_idle_conns_per_host: 32, idle_timeout: UPSTREAM_IDLE_TIMEOUT },
};

function proxyTo(dials: string[], health: string): Json {
  return {
    handler: "reverse_proxy",
    // No `rewrite` and no `strip_path_prefix` anywhere: the path reaches the app unchanged (docs/app-contract.md).
    upstreams: dials.map((dial) => ({ dial })),
    load_balancing: {
      // The slot's container; the service name only when the slot's name does not answer.
      selection_policy: { policy: "first" },
      try_duration: LB_TRY_DURATION,
      try_interval: LB_TRY_INTERVAL,
      retries: LB_RETRIES,
    },
    // Checked in the background, never on a request's time: a slot whose name does not resolve (or a
    // container that is restarting) is skipped within a second, and requests go to the next upstream.
    health_checks: { active: { uri: health, interval: HEALTH_INTERVAL, timeout: "2s", expect_status: 200 } },
    transport: UPSTREAM_TRANSPORT,
  };
}

/** The app upstream of one service: the slot its marker names, else (first start) the service name. */
function appProxy(u: Upstream): Json {
  const slotRoutes: Json[] = SLOTS.map((slot) => ({
    match: [{ file: { root: PROXY_STATE_DIR, try_files: [slotMarker(u.service, slot)] } }],
    handle: [proxyTo([`${slotContainer(u.service, slot)}:${u.port}`, serviceDial(u)], u.health)],
    terminal: true,
  }));
  return { handler: "subroute", routes: [...slotRoutes, { handle: [proxyTo([serviceDial(u)], u.health)], terminal: true }] };
}

function staticProxy(u: Upstream): Json {
  return {
    handler: "reverse_proxy",
    upstreams: [{ dial: serviceDial(u) }],
    load_balancing: { try_duration: "5s", try_interval: LB_TRY_INTERVAL },
    transport: UPSTREAM_TRANSPORT,
  };
}

/** First route of the public server: idle (its marker absent) except during a move's cutover. */
function moveRoute(hosts: string[]): Json {
  return {
    match: [{ host: hosts, file: { root: PROXY_STATE_DIR, try_files: [MOVE_FORWARD_MARKER] } }],
    // Host, path and body reach the holder unchanged; it answers when the new side has.
    handle: [{ handler: "reverse_proxy", upstreams: [{ dial: `${MOVE_HOLD_CONTAINER}:${MOVE_HOLD_PORT}` }], transport: UPSTREAM_TRANSPORT }],
    terminal: true,
  };
}

const hsts: Json = { handler: "headers", response: { set: { "Strict-Transport-Security": [HSTS] } } };

/** s3.<domain>: objects of the assets bucket only; anything else 403 (dot segments and encoded slashes too). */
export function publicObjectRoutes(input: BundleInput): Json[] {
  const bucket = input.objectStore.assetsBucket;
  const forbidden = { handler: "static_response", status_code: 403, body: "Only objects of the assets bucket are served here.\n", close: true };
  return [
    // Raw-URI check: a dot segment or an encoded dot/slash could step out of the bucket upstream.
    // CEL raw string; [.] and \x5c (backslash) keep it free of escape rules.
    { match: [{ expression: "{http.request.orig_uri.path}.matches(r'(?i)(/[.][.]?(/|$)|%2e|%2f|%5c|\\x5c)')" }], handle: [forbidden], terminal: true },
    { match: [{ path: [`/${bucket}/*`] }], handle: [staticProxy(OBJECTSTORE)], terminal: true },
    { handle: [forbidden], terminal: true },
  ];
}

export function caddyConfig(input: BundleInput): Json {
  const { domain, operatorEmail, tlsMode } = input.config.app;
  const s3Host = objectStoreHost(input);
  const hosts = [domain, ...(s3Host ? [s3Host] : [])];

  const appHandlers: Json[] = appRoutes().map((r) =>
    r.paths === "*" ? { handle: [appProxy(r.upstream)] } : { match: [{ path: r.paths }], handle: [appProxy(r.upstream)] },
  );
  const routes: Json[] = [moveRoute(hosts), { match: [{ host: [domain] }], handle: [hsts, { handler: "subroute", routes: appHandlers }], terminal: true }];
  // Presigned URLs are signed over the Host header: Caddy forwards it unchanged (no header rewrite).
  // Only the assets bucket is public (path-style object URLs): the backups bucket, bucket listings
  // and the rest of the S3 API are refused here, whatever credentials a request carries.
  if (s3Host) routes.push({ match: [{ host: [s3Host] }], handle: [hsts, { handler: "subroute", routes: publicObjectRoutes(input) }], terminal: true });

  const issuer: Json = tlsMode === "internal" ? { module: "internal" } : { module: "acme", email: operatorEmail };

  return {
    // Reachable only inside the container (never published); nothing in the deploy uses it.
    admin: { listen: "localhost:2019" },
    // The idle slot of each service is checked every second and fails by design (its name does not exist
    // between deploys): those lines would be most of the log. Health changes show in the app's own alerts.
    logging: { logs: { default: { exclude: [HEALTH_CHECK_LOGGER] } } },
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
