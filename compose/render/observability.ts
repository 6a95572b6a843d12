// The `observability` Compose profile (compose.observability.yml) and its config
// files, rendered from typed data. Pure apart from reading one static file
// (compose/files/observability/config.alloy), which has no per-customer content.
//
// What runs: Prometheus (rules + scrapes), Alertmanager (Slack-compatible webhook
// from a secret file, or a null receiver), Grafana (provisioned datasources and
// the FreshTrack dashboard), Loki 3 (tsdb, schema v13, filesystem, retention),
// Grafana Alloy (container logs -> Loki, container metrics via cAdvisor; non-root,
// Docker API only through an allow-list proxy: list containers, inspect, read logs),
// node-exporter (host + textfile collector for backup freshness) and
// blackbox-exporter (backend readiness, frontend health, public https + cert).
//
// Nothing publishes a port: Grafana is reached through an SSH tunnel (docs/observability.md).
// Nothing depends on an app service: monitoring must keep running when the app is down.
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { IMAGES, ImageKey, imageFor } from "../../core/images";
import type { BundleInput } from "../bundle-input";
import { SERVICE_KEY_ORDER } from "./compose-types";

export const OBSERVABILITY_PROFILE = "observability";

// ---- budget -------------------------------------------------------------------

/**
 * Limits on the 2 vCPU / 4 GB reference host. The whole profile is capped at
 * 1.25 CPU and 1 GiB so the app (backend 768 MB, worker 512 MB, postgres, redis, …)
 * keeps the rest. Go services get GOMEMLIMIT at ~80 % of their cap so the GC
 * works harder instead of the OOM killer stepping in.
 */
export const OBSERVABILITY_BUDGET = {
  prometheus: { cpus: 0.3, memoryMb: 256 },
  alertmanager: { cpus: 0.05, memoryMb: 48 },
  grafana: { cpus: 0.25, memoryMb: 192 },
  loki: { cpus: 0.25, memoryMb: 256 },
  alloy: { cpus: 0.2, memoryMb: 144 },
  "docker-socket-proxy": { cpus: 0.03, memoryMb: 16 },
  "node-exporter": { cpus: 0.1, memoryMb: 48 },
  "blackbox-exporter": { cpus: 0.05, memoryMb: 32 },
} as const satisfies Record<string, { cpus: number; memoryMb: number }>;

export type ObservabilityService = keyof typeof OBSERVABILITY_BUDGET;
export const OBSERVABILITY_SERVICES = Object.keys(OBSERVABILITY_BUDGET) as ObservabilityService[];

// ---- secrets ------------------------------------------------------------------

export interface ObservabilitySecret {
  /** Compose secret name (mounted at /run/secrets/<name>). */
  name: string;
  /** Relative to APP_DIR/secrets/ (docs/design.md). */
  file: string;
  uid: number;
}

const GRAFANA_ADMIN: ObservabilitySecret = { name: "grafana_admin_password", file: "grafana/admin_password", uid: IMAGES.grafana.uid };
const AM_WEBHOOK: ObservabilitySecret = { name: "alertmanager_webhook_url", file: "alertmanager/webhook_url", uid: IMAGES.alertmanager.uid };
const AM_SMTP: ObservabilitySecret = { name: "alertmanager_smtp_password", file: "alertmanager/smtp_password", uid: IMAGES.alertmanager.uid };
const AM_HEARTBEAT: ObservabilitySecret = { name: "alertmanager_heartbeat_url", file: "alertmanager/heartbeat_url", uid: IMAGES.alertmanager.uid };

/** True when the stack has `alertWebhookUrl` set: the typed flag that picks the Slack receiver. */
export function hasAlertWebhook(input: BundleInput): boolean {
  return input.config.secretsSet.includes("alertWebhookUrl");
}

/**
 * Resend's SMTP relay: the user is the literal `resend`, the password the customer's
 * Resend API key (the same key the app sends its own mail with). STARTTLS, which
 * Alertmanager's require_tls enforces: port 587, or 2587 on digitalocean, where
 * droplets' outbound 25/465/587 are blocked by DigitalOcean (the cloud firewall opens 2587).
 */
export const RESEND_SMTP = { host: "smtp.resend.com", username: "resend", port: { vm: 587, digitalocean: 2587 } } as const;

export interface AlertEmail {
  to: string;
  from: string;
  smarthost: string;
  username: string;
}

/**
 * Alert mail to operatorEmail through Resend whenever the stack has `resendApiKey`
 * (the app needs it to send its own alerts, so a working stack has it). The password
 * travels as a secret file; the config only names the file.
 */
export function alertEmail(input: BundleInput): AlertEmail | undefined {
  if (!input.config.secretsSet.includes("resendApiKey")) return undefined;
  return {
    to: input.config.app.operatorEmail,
    from: input.config.app.emailFromAddress,
    smarthost: `${RESEND_SMTP.host}:${RESEND_SMTP.port[input.target]}`,
    username: RESEND_SMTP.username,
  };
}

/** True when `alertHeartbeatUrl` is set: the Watchdog pings it instead of mailing a daily heartbeat. */
export function hasHeartbeatUrl(input: BundleInput): boolean {
  return input.config.secretsSet.includes("alertHeartbeatUrl");
}

function alertmanagerSecrets(input: BundleInput): ObservabilitySecret[] {
  return [...(hasAlertWebhook(input) ? [AM_WEBHOOK] : []), ...(alertEmail(input) ? [AM_SMTP] : []), ...(hasHeartbeatUrl(input) ? [AM_HEARTBEAT] : [])];
}

/**
 * Secret files this profile mounts, so the secret writer creates exactly these
 * (a missing file would stop `docker compose up`). Empty when observability is off.
 */
export function observabilitySecrets(input: BundleInput): ObservabilitySecret[] {
  if (!input.config.data.observability) return [];
  return [GRAFANA_ADMIN, ...alertmanagerSecrets(input)];
}

/** The same secrets by reading service, for release.json's `secrets` map (bin/deploy digests them per service). */
export function observabilityServiceSecrets(input: BundleInput): Partial<Record<ObservabilityService, ObservabilitySecret[]>> {
  if (!input.config.data.observability) return {};
  const am = alertmanagerSecrets(input);
  return { grafana: [GRAFANA_ADMIN], ...(am.length ? { alertmanager: am } : {}) };
}

export function appDirOf(input: BundleInput): string {
  return input.config.vm?.appDir ?? input.config.digitalocean?.appDir ?? "/opt/freshtrack";
}

// Same convention as compose/render/compose.ts and bin/lib.sh: bin/* export FT_APP_DIR and
// FT_SECRETS_DIR before running Compose; the defaults are the configured APP_DIR.
// Absolute either way: the release directory is reached through the `current` symlink,
// where a relative `../../secrets` would resolve lexically to the wrong place.
export const appDirExpr = (input: BundleInput) => `\${FT_APP_DIR:-${appDirOf(input)}}`;
export const secretsDirExpr = (input: BundleInput) => `\${FT_SECRETS_DIR:-${appDirOf(input)}/secrets}`;

// ---- compose --------------------------------------------------------------------

interface Healthcheck {
  test: string[];
  interval: string;
  timeout: string;
  retries: number;
  start_period: string;
}

export interface ComposeService {
  image: string;
  profiles: string[];
  command?: string[];
  user?: string;
  environment?: Record<string, string>;
  volumes: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: "service_healthy" | "service_started"; restart?: boolean }>;
  healthcheck: Healthcheck;
  restart: "unless-stopped";
  stop_grace_period?: string;
  security_opt: string[];
  cap_drop?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  deploy: { resources: { limits: { cpus: string; memory: string } } };
  logging: { driver: "json-file"; options: { "max-size": string; "max-file": string } };
}

export interface ObservabilityCompose {
  /** docs/design.md: the Compose project is always `freshtrack`. */
  name: "freshtrack";
  services: Record<ObservabilityService, ComposeService>;
  volumes: Record<string, { name: string }>;
  secrets?: Record<string, { file: string }>;
}

/** busybox wget is in every prom/* image, in Grafana (Alpine) and in Loki. CMD form: no shell needed. */
const wgetCheck = (url: string, startPeriod = "30s"): Healthcheck => ({
  test: ["CMD", "wget", "-q", "-T", "4", "-O", "/dev/null", url],
  interval: "30s",
  timeout: "5s",
  retries: 3,
  start_period: startPeriod,
});

function base(
  key: ImageKey & ObservabilityService,
  input: BundleInput,
): Pick<ComposeService, "image" | "profiles" | "restart" | "security_opt" | "deploy" | "logging"> {
  const b = OBSERVABILITY_BUDGET[key];
  return {
    image: imageFor(key, input.config.app.imageOverrides),
    profiles: [OBSERVABILITY_PROFILE],
    restart: "unless-stopped",
    security_opt: ["no-new-privileges:true"],
    deploy: { resources: { limits: { cpus: b.cpus.toFixed(2), memory: `${b.memoryMb}M` } } },
    // Small: the host's disk is shared with the database; Loki keeps the history.
    logging: { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } },
  };
}

const goMemLimit = (key: ObservabilityService) => `${Math.floor(OBSERVABILITY_BUDGET[key].memoryMb * 0.8)}MiB`;

/** cAdvisor's one read of Docker's state directory: container id -> read-write layer id. */
export const DOCKER_LAYERDB_MOUNTS = "/var/lib/docker/image/overlay2/layerdb/mounts";
/** GET paths the socket proxy lets Alloy call (the proxy anchors the regex). */
export const DOCKER_PROXY_ALLOW_GET = "(/v[0-9.]+)?/(_ping|version|info|networks|containers/json|containers/[a-zA-Z0-9][a-zA-Z0-9_.-]*/(json|logs))";

export const VOLUMES = {
  prometheus: "freshtrack_prometheus",
  alertmanager: "freshtrack_alertmanager",
  grafana: "freshtrack_grafana",
  loki: "freshtrack_loki",
} as const;

/** Prometheus keeps 15 days or 2 GB of metrics, whichever is reached first. */
export const PROMETHEUS_RETENTION = { time: "15d", size: "2GB" };
/** Loki keeps container logs 14 days. */
export const LOKI_RETENTION_HOURS = 336;

/** dclint's service-keys-order: the listed keys first, in this order, then the rest alphabetically. */
function orderKeys<T extends object>(svc: T): T {
  const rank = (k: string) => (SERVICE_KEY_ORDER.includes(k) ? SERVICE_KEY_ORDER.indexOf(k) : SERVICE_KEY_ORDER.length);
  const keys = Object.keys(svc).sort((a, b) => rank(a) - rank(b) || (rank(a) === SERVICE_KEY_ORDER.length ? a.localeCompare(b) : 0));
  return Object.fromEntries(keys.map((k) => [k, (svc as Record<string, unknown>)[k]])) as T;
}

function renderCompose(input: BundleInput): ObservabilityCompose {
  const amSecrets = alertmanagerSecrets(input);
  // A fresh object per use: a shared one would come out as YAML anchors/aliases.
  const healthy = () => ({ condition: "service_healthy" as const });
  const services: Record<ObservabilityService, ComposeService> = {
    prometheus: {
      ...base("prometheus", input),
      command: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${PROMETHEUS_RETENTION.time}`,
        `--storage.tsdb.retention.size=${PROMETHEUS_RETENTION.size}`,
      ],
      environment: { GOMEMLIMIT: goMemLimit("prometheus") },
      volumes: [
        "./config/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
        "./config/alerts.yml:/etc/prometheus/alerts.yml:ro",
        `${VOLUMES.prometheus}:/prometheus`,
      ],
      // No depends_on: Prometheus must record and evaluate even when Alertmanager is broken; it retries sending.
      healthcheck: wgetCheck("http://127.0.0.1:9090/-/ready", "60s"),
      cap_drop: ["ALL"],
      read_only: true,
    },
    alertmanager: {
      ...base("alertmanager", input),
      command: [
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/alertmanager",
        // Single instance: no gossip cluster to join.
        "--cluster.listen-address=",
      ],
      volumes: ["./config/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro", `${VOLUMES.alertmanager}:/alertmanager`],
      ...(amSecrets.length ? { secrets: amSecrets.map((x) => x.name) } : {}),
      healthcheck: wgetCheck("http://127.0.0.1:9093/-/ready"),
      cap_drop: ["ALL"],
      read_only: true,
    },
    grafana: {
      ...base("grafana", input),
      environment: {
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD__FILE: `/run/secrets/${GRAFANA_ADMIN.name}`,
        GF_SECURITY_DISABLE_GRAVATAR: "true",
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_AUTH_ANONYMOUS_ENABLED: "false",
        // Reached through `ssh -L 3000:<grafana-ip>:3000` (docs/observability.md): links point at the tunnel.
        GF_SERVER_ROOT_URL: "http://localhost:3000/",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
        GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: "false",
        // Grafana 12 would otherwise download plugins at every start.
        GF_PLUGINS_PREINSTALL_DISABLED: "true",
        GF_LOG_LEVEL: "warn",
        GF_PATHS_PROVISIONING: "/etc/grafana/provisioning",
        GOMEMLIMIT: goMemLimit("grafana"),
      },
      volumes: [
        "./config/grafana/provisioning:/etc/grafana/provisioning:ro",
        "./config/grafana/dashboards:/etc/grafana/dashboards:ro",
        `${VOLUMES.grafana}:/var/lib/grafana`,
      ],
      secrets: [GRAFANA_ADMIN.name],
      // Loki only needs to have started: a broken Loki must not also take the metrics dashboards away.
      depends_on: { loki: { condition: "service_started" }, prometheus: healthy() },
      healthcheck: wgetCheck("http://127.0.0.1:3000/api/health", "60s"),
      cap_drop: ["ALL"],
    },
    loki: {
      ...base("loki", input),
      command: ["-config.file=/etc/loki/loki.yml"],
      environment: { GOMEMLIMIT: goMemLimit("loki") },
      volumes: ["./config/loki.yml:/etc/loki/loki.yml:ro", `${VOLUMES.loki}:/loki`],
      healthcheck: wgetCheck("http://127.0.0.1:3100/ready", "60s"),
      cap_drop: ["ALL"],
    },
    alloy: {
      ...base("alloy", input),
      command: ["run", "--server.http.listen-addr=0.0.0.0:12345", "--storage.path=/var/lib/alloy/data", "--disable-reporting", "/etc/alloy/config.alloy"],
      environment: { GOMEMLIMIT: goMemLimit("alloy") },
      // Not root, no Docker socket: the Docker API only through docker-socket-proxy (read-only allow-list).
      // cgroup files under /sys are world-readable; cAdvisor also needs each container's layer id,
      // which is only in layerdb/mounts (0755/0644 metadata files, no container contents).
      volumes: ["./config/alloy.alloy:/etc/alloy/config.alloy:ro", "/sys:/sys:ro", `${DOCKER_LAYERDB_MOUNTS}:${DOCKER_LAYERDB_MOUNTS}:ro`],
      // Positions and WAL on tmpfs: writable by any uid (a root-owned volume from an older release is not).
      // After a restart Alloy re-reads the containers' rotated json logs; Loki drops the duplicates.
      tmpfs: ["/var/lib/alloy/data:size=64m"],
      depends_on: { "docker-socket-proxy": { condition: "service_started" }, loki: healthy() },
      user: `${IMAGES.alloy.uid}:${IMAGES.alloy.uid}`,
      cap_drop: ["ALL"],
      // The Alloy image (Ubuntu) has bash but neither wget nor curl.
      healthcheck: {
        test: [
          "CMD",
          "bash",
          "-c",
          "exec 3<>/dev/tcp/127.0.0.1/12345 && printf 'GET /-/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '",
        ],
        interval: "30s",
        timeout: "5s",
        retries: 3,
        start_period: "30s",
      },
    },
    "docker-socket-proxy": {
      ...base("docker-socket-proxy", input),
      command: [
        "-listenip=0.0.0.0",
        "-listenport=2375",
        // Only Alloy may connect (resolved by name on the Compose network); everyone else gets 403.
        "-allowfrom=alloy",
        // The proxy anchors each regex (^…$). GET only: ping, version, info, networks (docker discovery),
        // the container list, one container's inspect and its logs. No exec, no archive/export, no POST/PUT/DELETE.
        `-allowGET=${DOCKER_PROXY_ALLOW_GET}`,
        "-allowHEAD=(/v[0-9.]+)?/_ping",
        "-allowhealthcheck",
        "-shutdowngracetime=5",
      ],
      volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"],
      healthcheck: { test: ["CMD", "./healthcheck"], interval: "30s", timeout: "5s", retries: 3, start_period: "10s" },
      // Not root: nobody, plus the host's docker group (its gid differs per host; bin/lib.sh exports it).
      // Unset (compose run by hand), 65534 (nogroup) fails closed: the proxy cannot open the socket.
      user: `${IMAGES["docker-socket-proxy"].uid}:\${FT_DOCKER_GID:-65534}`,
      cap_drop: ["ALL"],
      read_only: true,
    },
    "node-exporter": {
      ...base("node-exporter", input),
      command: [
        "--path.rootfs=/host",
        "--collector.textfile.directory=/textfile",
        // `$$`: Compose interpolates a single `$`.
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($$|/)",
        "--no-collector.wifi",
        "--no-collector.hwmon",
      ],
      volumes: ["/:/host:ro,rslave", `${appDirExpr(input)}/metrics:/textfile:ro`],
      healthcheck: wgetCheck("http://127.0.0.1:9100/metrics", "10s"),
      cap_drop: ["ALL"],
      read_only: true,
    },
    "blackbox-exporter": {
      ...base("blackbox-exporter", input),
      command: ["--config.file=/etc/blackbox_exporter/blackbox.yml"],
      volumes: ["./config/blackbox.yml:/etc/blackbox_exporter/blackbox.yml:ro"],
      healthcheck: wgetCheck("http://127.0.0.1:9115/-/healthy", "10s"),
      cap_drop: ["ALL"],
      read_only: true,
    },
  };

  const secretsUsed = observabilitySecrets(input);
  const compose: ObservabilityCompose = {
    name: "freshtrack",
    services: Object.fromEntries(
      Object.keys(services)
        .sort()
        .map((k) => [k, orderKeys(services[k as ObservabilityService])]),
    ) as Record<ObservabilityService, ComposeService>,
    volumes: Object.fromEntries(Object.entries(VOLUMES).map(([, name]) => [name, { name }])),
  };
  if (secretsUsed.length) compose.secrets = Object.fromEntries(secretsUsed.map((s) => [s.name, { file: `${secretsDirExpr(input)}/${s.file}` }]));
  return compose;
}

// ---- Prometheus -------------------------------------------------------------------

export const BACKEND_READY_URL = "http://backend:3000/health/ready";
export const FRONTEND_HEALTH_URL = "http://frontend:8080/health";
/**
 * The end-to-end probe through Caddy. tlsMode acme: the real public URL (DNS, certificate and
 * routing as users see them). tlsMode internal: usually a host without public DNS, or behind
 * NAT without hairpinning, so Caddy is probed inside the network with the domain as Host and SNI.
 */
export const publicProbeUrl = (input: BundleInput) =>
  input.config.app.tlsMode === "acme" ? `https://${input.config.app.domain}/health/ready` : `https://${CADDY_HOST}/health/ready`;
export const CADDY_HOST = "caddy";

interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  metrics_path?: string;
  params?: Record<string, string[]>;
  static_configs: { targets: string[]; labels?: Record<string, string> }[];
  relabel_configs?: { source_labels?: string[]; target_label: string; replacement?: string }[];
}

const staticJob = (job_name: string, target: string, metrics_path?: string): ScrapeConfig => ({
  job_name,
  ...(metrics_path ? { metrics_path } : {}),
  static_configs: [{ targets: [target] }],
});

/** A blackbox job: the probed URL becomes `instance`, the exporter is what Prometheus actually scrapes. */
const probeJob = (job_name: string, module: string, probes: { url: string; probe: string }[]): ScrapeConfig => ({
  job_name,
  scrape_interval: "15s",
  scrape_timeout: "12s",
  metrics_path: "/probe",
  params: { module: [module] },
  static_configs: probes.map((p) => ({ targets: [p.url], labels: { probe: p.probe } })),
  relabel_configs: [
    { source_labels: ["__address__"], target_label: "__param_target" },
    { source_labels: ["__param_target"], target_label: "instance" },
    { target_label: "__address__", replacement: "blackbox-exporter:9115" },
  ],
});

export const CADVISOR_PATH = "/api/v0/component/prometheus.exporter.cadvisor.containers/metrics";

function prometheusConfig(input: BundleInput): object {
  return {
    global: {
      scrape_interval: "30s",
      scrape_timeout: "10s",
      evaluation_interval: "30s",
      external_labels: { deployment: input.config.app.domain },
    },
    alerting: { alertmanagers: [{ static_configs: [{ targets: ["alertmanager:9093"] }] }] },
    // Relative to prometheus.yml: both are mounted in /etc/prometheus.
    rule_files: ["alerts.yml"],
    scrape_configs: [
      staticJob("prometheus", "localhost:9090"),
      staticJob("alertmanager", "alertmanager:9093"),
      staticJob("node", "node-exporter:9100"),
      staticJob("blackbox-exporter", "blackbox-exporter:9115"),
      staticJob("loki", "loki:3100"),
      staticJob("alloy", "alloy:12345"),
      staticJob("grafana", "grafana:3000"),
      staticJob("containers", "alloy:12345", CADVISOR_PATH),
      probeJob("blackbox-internal", "http_internal", [
        { url: BACKEND_READY_URL, probe: "backend" },
        { url: FRONTEND_HEALTH_URL, probe: "frontend" },
      ]),
      probeJob("blackbox-public", "https_public", [{ url: publicProbeUrl(input), probe: "public" }]),
    ] satisfies ScrapeConfig[],
  };
}

function blackboxConfig(input: BundleInput): object {
  return {
    modules: {
      http_internal: {
        prober: "http",
        timeout: "5s",
        http: { method: "GET", valid_status_codes: [200], preferred_ip_protocol: "ip4", ip_protocol_fallback: true, no_follow_redirects: true },
      },
      https_public: {
        prober: "http",
        timeout: "10s",
        http: {
          method: "GET",
          valid_status_codes: [200],
          fail_if_not_ssl: true,
          preferred_ip_protocol: "ip4",
          ip_protocol_fallback: true,
          ...(input.config.app.tlsMode === "acme"
            ? { tls_config: { insecure_skip_verify: false } }
            : {
                // Caddy's own CA, which nothing here trusts: check routing and TLS, not the chain.
                headers: { Host: input.config.app.domain },
                tls_config: { insecure_skip_verify: true, server_name: input.config.app.domain },
              }),
        },
      },
    },
  };
}

// ---- alert rules -------------------------------------------------------------------

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "critical" | "warning" | "none"; cause?: string };
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export const CERT_WARN_DAYS = 14;
/** The always-firing dead-man's-switch alert. */
export const WATCHDOG_ALERT = "Watchdog";
export const BACKUP_MAX_AGE_HOURS = 26;
export const DISK_USED_PERCENT = 85;
export const MEMORY_USED_PERCENT = 90;
const REAL_FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"';
export const BACKUP_METRIC = "freshtrack_backup_last_success_timestamp_seconds";
export const RESTORE_CHECK_METRIC = "freshtrack_restore_check_last_success_timestamp_seconds";
export const RESTORE_CHECK_MAX_AGE_DAYS = 8;
/** bin/backup: 1 when the last backup went off the host, 0 when it stayed on it (vmBackupOnHostOnly). */
export const BACKUP_OFFHOST_METRIC = "freshtrack_backup_offhost";
/** A standing reminder while backups stay on the host: its own route repeats it once a day. */
export const BACKUP_ONHOST_ALERT = "FreshtrackBackupsOnHostOnly";
export const BACKUP_ONHOST_REPEAT = "24h";

/** The alert rules, as typed data (also what the tests enumerate). */
export function alertRules(input: BundleInput): RuleGroup[] {
  const domain = input.config.app.domain;
  const availability: AlertRule[] = [
    {
      alert: "FreshtrackBackendDown",
      expr: 'probe_success{job="blackbox-internal",probe="backend"} == 0',
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Backend not ready: TTN webhooks are being refused",
        description: `${BACKEND_READY_URL} has failed every probe for 2 minutes (database unreachable or backend down). Readings sent by TTN now are lost. Check: bin/status; docker compose logs backend.`,
      },
    },
    {
      alert: "FreshtrackFrontendDown",
      expr: 'probe_success{job="blackbox-internal",probe="frontend"} == 0',
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Frontend down: users cannot open the app",
        description: `${FRONTEND_HEALTH_URL} has failed every probe for 2 minutes. Check: docker compose logs frontend.`,
      },
    },
    {
      alert: "FreshtrackPublicEndpointDown",
      expr: 'probe_success{job="blackbox-public",probe="public"} == 0',
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: `https://${domain} is unreachable through Caddy`,
        description: `${publicProbeUrl(input)}${input.config.app.tlsMode === "acme" ? "" : ` (Host ${domain})`} has failed for 5 minutes (${input.config.app.tlsMode === "acme" ? "DNS, Caddy, TLS certificate or firewall" : "Caddy or its routing"}) while the probe of the backend inside the network may still pass. Check: docker compose logs caddy.`,
      },
    },
  ];
  // Caddy's internal CA issues 12-hour certificates and renews them itself: a 14-day warning would always fire.
  if (input.config.app.tlsMode === "acme") {
    availability.push({
      alert: "FreshtrackCertificateExpiringSoon",
      expr: `(probe_ssl_earliest_cert_expiry{job="blackbox-public"} - time()) / 86400 < ${CERT_WARN_DAYS}`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: `TLS certificate of ${domain} expires in {{ $value | printf "%.1f" }} days`,
        description: `Caddy renews ACME certificates about 30 days before expiry; a certificate with under ${CERT_WARN_DAYS} days left means renewal is failing (DNS not pointing here, port 80/443 blocked, rate limit). Check: docker compose logs caddy | grep -i acme.`,
      },
    });
  }

  const ageH = BACKUP_MAX_AGE_HOURS;
  const backups: AlertRule[] = [
    {
      // No `for`: the age only grows, so it is exact the moment it passes the limit.
      alert: "FreshtrackBackupStale",
      expr: `time() - max(${BACKUP_METRIC}) > ${ageH * 3600}`,
      labels: { severity: "critical", cause: "stale" },
      annotations: {
        summary: `Newest good backup is older than ${ageH} hours`,
        description: `The last successful bin/backup finished {{ $value | humanizeDuration }} ago (limit ${ageH}h). Check: tail APP_DIR/state/audit.log; run bin/backup by hand.`,
      },
    },
    {
      // Same alert, second cause: no metric means no proof of any backup. `for` covers a Prometheus restart.
      alert: "FreshtrackBackupStale",
      expr: `absent(${BACKUP_METRIC})`,
      for: "10m",
      labels: { severity: "critical", cause: "missing" },
      annotations: {
        summary: "No successful backup is recorded on this host",
        description: `${BACKUP_METRIC} is missing: no backup has succeeded since install, APP_DIR/metrics/backup.prom is missing or unreadable by node-exporter (uid 65534), or node-exporter is down.`,
      },
    },
    {
      alert: "FreshtrackBackupTimestampInvalid",
      expr: `max(${BACKUP_METRIC}) - time() > 3600`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Backup timestamp is in the future: backup freshness cannot be judged",
        description: `${BACKUP_METRIC} is {{ $value | humanizeDuration }} ahead of Prometheus' clock. It must be Unix seconds (not milliseconds); check bin/backup and the host clock.`,
      },
    },
    {
      // Weekly job (bin/restore --check): a week plus a day of slack. No absent case: a new
      // install has none for its first week, and the backup alert already covers "no backups".
      alert: "FreshtrackRestoreCheckStale",
      expr: `time() - max(${RESTORE_CHECK_METRIC}) > ${RESTORE_CHECK_MAX_AGE_DAYS * 86400}`,
      labels: { severity: "warning" },
      annotations: {
        summary: `No successful restore check for more than ${RESTORE_CHECK_MAX_AGE_DAYS} days`,
        description:
          "The daily bin/restore --check proves the backups can be restored; its last success was {{ $value | humanizeDuration }} ago. Check: tail APP_DIR/state/audit.log; run bin/restore --check by hand.",
      },
    },
    {
      // The operator accepted on-host-only backups (vmBackupOnHostOnly): told every day, not only once.
      alert: BACKUP_ONHOST_ALERT,
      expr: `max(${BACKUP_OFFHOST_METRIC}) == 0`,
      labels: { severity: "warning" },
      annotations: {
        summary: "Backups are kept on this host only",
        description:
          "The last successful backup stayed on the host's own disk (vmBackupOnHostOnly): a lost or broken disk loses the data and its backups together. Fix: set vmBackupRemoteEndpoint, vmBackupRemoteBucket, vmBackupRemoteAccessKeyId and vmBackupRemoteSecretAccessKey (docs/backup.md), then pulumi up.",
      },
    },
    {
      alert: "FreshtrackTextfileMetricsBroken",
      expr: "node_textfile_scrape_error > 0",
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "node-exporter cannot parse APP_DIR/metrics/*.prom",
        description:
          "A textfile in APP_DIR/metrics is malformed, so backup freshness metrics may be stale or missing. Check: docker compose logs node-exporter.",
      },
    },
  ];

  const host: AlertRule[] = [
    {
      alert: "FreshtrackDiskAlmostFull",
      expr: `100 * (1 - node_filesystem_avail_bytes{${REAL_FS}} / node_filesystem_size_bytes{${REAL_FS}}) > ${DISK_USED_PERCENT}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: `Disk {{ $labels.mountpoint }} is {{ $value | printf "%.0f" }}% full`,
        description: `Above ${DISK_USED_PERCENT}% used. PostgreSQL and Redis stop accepting writes when the disk fills. Check: docker system df; du -sh APP_DIR/*.`,
      },
    },
    {
      alert: "FreshtrackMemoryHigh",
      expr: `100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > ${MEMORY_USED_PERCENT}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: `Host memory {{ $value | printf "%.0f" }}% used`,
        description: `Above ${MEMORY_USED_PERCENT}% for 10 minutes: the kernel will soon OOM-kill containers. Check: docker stats --no-stream.`,
      },
    },
    {
      alert: "FreshtrackContainerRestarting",
      expr: 'changes(container_start_time_seconds{name!=""}[15m]) >= 2',
      labels: { severity: "critical" },
      annotations: {
        summary: "Container {{ $labels.name }} is restarting repeatedly",
        description:
          "{{ $labels.name }} started {{ $value }} more times in 15 minutes (crash loop). A deploy recreates containers once and does not trigger this. Check: docker compose logs --tail 100 {{ $labels.container_label_com_docker_compose_service }}.",
      },
    },
    {
      alert: "FreshtrackScrapeTargetDown",
      expr: "up == 0",
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Monitoring target {{ $labels.job }} ({{ $labels.instance }}) is down",
        description: "Prometheus cannot scrape it for 5 minutes, so alerts that depend on it cannot fire. Check: docker compose --profile observability ps.",
      },
    },
  ];

  const heartbeat: AlertRule[] = [
    {
      // Always firing, by design: its arrival proves Prometheus evaluates rules and
      // Alertmanager delivers. Routed to the heartbeat receiver only (alertmanagerConfig).
      alert: WATCHDOG_ALERT,
      expr: "vector(1)",
      labels: { severity: "none" },
      annotations: {
        summary: "Monitoring heartbeat: Prometheus and Alertmanager are working",
        description: `This alert always fires. When the heartbeat (a ping to alertHeartbeatUrl, or the daily heartbeat mail to the operator) stops, the monitoring of ${domain} is down: check docker compose --profile observability ps on the host.`,
      },
    },
  ];

  return [
    { name: "freshtrack-heartbeat", rules: heartbeat },
    { name: "freshtrack-availability", rules: availability },
    { name: "freshtrack-backups", rules: backups },
    { name: "freshtrack-host", rules: host },
  ];
}

// ---- Alertmanager -------------------------------------------------------------------

/** Alertmanager re-sends the Watchdog this often: every 5 minutes to a heartbeat URL, once a day by mail. */
export const HEARTBEAT_REPEAT = { url: "5m", email: "24h" } as const;

function alertmanagerConfig(input: BundleInput): object {
  const webhook = hasAlertWebhook(input);
  const email = alertEmail(input);
  const heartbeatUrl = hasHeartbeatUrl(input);
  const domain = input.config.app.domain;
  const emailConfig = (e: AlertEmail, extra: Record<string, unknown> = {}) => ({
    to: e.to,
    from: e.from,
    smarthost: e.smarthost,
    auth_username: e.username,
    // Read at send time from the secret file: the Resend key is never in this config.
    auth_password_file: `/run/secrets/${AM_SMTP.name}`,
    require_tls: true,
    ...extra,
  });
  const operator: Record<string, unknown> = { name: "operator" };
  if (webhook) {
    operator.slack_configs = [
      {
        // Read at send time from the secret file: the URL is never in this config.
        api_url_file: `/run/secrets/${AM_WEBHOOK.name}`,
        send_resolved: true,
        title: `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} — ${domain}`,
        text: "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n{{ end }}",
      },
    ];
  }
  if (email) operator.email_configs = [emailConfig(email, { send_resolved: true })];
  const notify = webhook || !!email;

  // Dead-man's switch: the always-firing Watchdog goes to its own receiver, never to the
  // operator's channel. With alertHeartbeatUrl, a heartbeat service (healthchecks.io and
  // the like) is pinged every 5 minutes and mails the operator when the pings stop; without
  // it, operatorEmail gets one heartbeat mail a day, whose absence is the signal.
  const heartbeat: Record<string, unknown> = { name: "heartbeat" };
  if (heartbeatUrl) heartbeat.webhook_configs = [{ url_file: `/run/secrets/${AM_HEARTBEAT.name}`, send_resolved: false }];
  else if (email)
    heartbeat.email_configs = [
      emailConfig(email, {
        send_resolved: false,
        headers: { Subject: `FreshTrack monitoring heartbeat — ${domain} (daily; if it stops, monitoring is down)` },
      }),
    ];
  const hasHeartbeat = heartbeatUrl || !!email;

  return {
    global: { resolve_timeout: "5m" },
    route: {
      // With nowhere to send, alerts still show in Grafana/Prometheus; Alertmanager must start either way.
      receiver: notify ? "operator" : "null",
      group_by: ["alertname", "probe", "mountpoint", "name"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        {
          matchers: [`alertname="${WATCHDOG_ALERT}"`],
          receiver: hasHeartbeat ? "heartbeat" : "null",
          group_wait: "0s",
          group_interval: "1m",
          repeat_interval: heartbeatUrl ? HEARTBEAT_REPEAT.url : HEARTBEAT_REPEAT.email,
        },
        { matchers: [`alertname="${BACKUP_ONHOST_ALERT}"`], receiver: notify ? "operator" : "null", repeat_interval: BACKUP_ONHOST_REPEAT },
        { matchers: ['severity="critical"'], receiver: notify ? "operator" : "null", repeat_interval: "1h" },
      ],
    },
    inhibit_rules: [
      // The backend being down explains the public endpoint failing.
      { source_matchers: ['alertname="FreshtrackBackendDown"'], target_matchers: ['alertname="FreshtrackPublicEndpointDown"'] },
    ],
    receivers: [{ name: "null" }, ...(notify ? [operator] : []), ...(hasHeartbeat ? [heartbeat] : [])],
  };
}

// ---- Loki ---------------------------------------------------------------------------

function lokiConfig(): object {
  return {
    auth_enabled: false,
    server: { http_listen_port: 3100, grpc_listen_port: 9096, log_level: "warn" },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: "/loki",
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
      storage: { filesystem: { chunks_directory: "/loki/chunks", rules_directory: "/loki/rules" } },
    },
    // Loki 3: tsdb index + schema v13 (boltdb-shipper / v11 are refused).
    schema_config: {
      configs: [{ from: "2024-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }],
    },
    limits_config: {
      retention_period: `${LOKI_RETENTION_HOURS}h`,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
      ingestion_rate_mb: 4,
      ingestion_burst_size_mb: 8,
      max_query_series: 1000,
      allow_structured_metadata: true,
      volume_enabled: true,
    },
    compactor: {
      working_directory: "/loki/compactor",
      compaction_interval: "10m",
      retention_enabled: true,
      retention_delete_delay: "2h",
      delete_request_store: "filesystem",
    },
    query_range: { results_cache: { cache: { embedded_cache: { enabled: true, max_size_mb: 32 } } } },
    ingester: { chunk_idle_period: "30m", max_chunk_age: "2h" },
    analytics: { reporting_enabled: false },
  };
}

// ---- Grafana ------------------------------------------------------------------------

const PROM_DS = { type: "prometheus", uid: "prometheus" };
const LOKI_DS = { type: "loki", uid: "loki" };

function grafanaDatasources(): object {
  return {
    apiVersion: 1,
    datasources: [
      { name: "Prometheus", type: "prometheus", uid: PROM_DS.uid, access: "proxy", url: "http://prometheus:9090", isDefault: true, editable: false },
      { name: "Loki", type: "loki", uid: LOKI_DS.uid, access: "proxy", url: "http://loki:3100", editable: false, jsonData: { maxLines: 1000 } },
    ],
  };
}

function grafanaDashboardProvider(): object {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "freshtrack",
        folder: "FreshTrack",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: "/etc/grafana/dashboards", foldersFromFilesStructure: false },
      },
    ],
  };
}

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

let panelId = 0;
const promTarget = (expr: string, legendFormat = "") => ({ datasource: PROM_DS, expr, legendFormat, refId: "A" });

function statPanel(
  title: string,
  gridPos: GridPos,
  expr: string,
  unit: string,
  thresholds: { color: string; value: number | null }[],
  mappings: object[] = [],
) {
  return {
    id: ++panelId,
    type: "stat",
    title,
    gridPos,
    datasource: PROM_DS,
    targets: [promTarget(expr)],
    fieldConfig: { defaults: { unit, mappings, thresholds: { mode: "absolute", steps: thresholds }, noValue: "no data" }, overrides: [] },
    options: { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "background", graphMode: "none", textMode: "auto" },
  };
}

function timeseriesPanel(title: string, gridPos: GridPos, targets: { expr: string; legend: string }[], unit: string, max?: number) {
  return {
    id: ++panelId,
    type: "timeseries",
    title,
    gridPos,
    datasource: PROM_DS,
    targets: targets.map((t, i) => ({ ...promTarget(t.expr, t.legend), refId: String.fromCharCode(65 + i) })),
    fieldConfig: { defaults: { unit, min: 0, ...(max !== undefined ? { max } : {}) }, overrides: [] },
    options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
  };
}

const UP_DOWN = [{ type: "value", options: { "0": { text: "DOWN", color: "red" }, "1": { text: "UP", color: "green" } } }];
const RED_GREEN = [
  { color: "red", value: null },
  { color: "green", value: 1 },
];

function dashboard(input: BundleInput): object {
  panelId = 0;
  const panels = [
    statPanel("Backend ready", { x: 0, y: 0, w: 4, h: 4 }, 'probe_success{job="blackbox-internal",probe="backend"}', "none", RED_GREEN, UP_DOWN),
    statPanel("Frontend", { x: 4, y: 0, w: 4, h: 4 }, 'probe_success{job="blackbox-internal",probe="frontend"}', "none", RED_GREEN, UP_DOWN),
    statPanel(`https://${input.config.app.domain}`, { x: 8, y: 0, w: 4, h: 4 }, 'probe_success{job="blackbox-public"}', "none", RED_GREEN, UP_DOWN),
    statPanel("Certificate expires in", { x: 12, y: 0, w: 4, h: 4 }, '(probe_ssl_earliest_cert_expiry{job="blackbox-public"} - time()) / 86400', "d", [
      { color: "red", value: null },
      { color: "orange", value: 7 },
      { color: "green", value: CERT_WARN_DAYS },
    ]),
    statPanel("Newest backup age", { x: 16, y: 0, w: 4, h: 4 }, `time() - max(${BACKUP_METRIC})`, "s", [
      { color: "green", value: null },
      { color: "red", value: BACKUP_MAX_AGE_HOURS * 3600 },
    ]),
    statPanel("Last restore check", { x: 20, y: 0, w: 4, h: 4 }, `time() - max(${RESTORE_CHECK_METRIC})`, "s", [
      { color: "green", value: null },
      { color: "orange", value: RESTORE_CHECK_MAX_AGE_DAYS * 86400 },
    ]),
    timeseriesPanel("Probe latency", { x: 0, y: 4, w: 12, h: 8 }, [{ expr: "probe_duration_seconds", legend: "{{probe}} {{instance}}" }], "s"),
    timeseriesPanel(
      "Disk used",
      { x: 12, y: 4, w: 12, h: 8 },
      [{ expr: `100 * (1 - node_filesystem_avail_bytes{${REAL_FS}} / node_filesystem_size_bytes{${REAL_FS}})`, legend: "{{mountpoint}}" }],
      "percent",
      100,
    ),
    timeseriesPanel(
      "CPU used",
      { x: 0, y: 12, w: 8, h: 8 },
      [{ expr: '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m])))', legend: "host" }],
      "percent",
      100,
    ),
    timeseriesPanel(
      "Memory used",
      { x: 8, y: 12, w: 8, h: 8 },
      [{ expr: "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)", legend: "host" }],
      "percent",
      100,
    ),
    timeseriesPanel("Container memory", { x: 16, y: 12, w: 8, h: 8 }, [{ expr: 'container_memory_working_set_bytes{name!=""}', legend: "{{name}}" }], "bytes"),
    {
      id: ++panelId,
      type: "logs",
      title: "Container logs",
      gridPos: { x: 0, y: 20, w: 24, h: 12 },
      datasource: LOKI_DS,
      targets: [{ datasource: LOKI_DS, expr: '{compose_project="freshtrack", service=~"$service"}', refId: "A" }],
      options: { showTime: true, wrapLogMessage: true, sortOrder: "Descending", enableLogDetails: true },
    },
  ];
  return {
    uid: "freshtrack",
    title: "FreshTrack",
    tags: ["freshtrack"],
    timezone: "utc",
    editable: false,
    refresh: "1m",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [
        {
          name: "service",
          label: "Service",
          type: "query",
          datasource: LOKI_DS,
          query: { label: "service", stream: '{compose_project="freshtrack"}', type: 1 },
          includeAll: true,
          multi: true,
          allValue: ".+",
          current: { text: "All", value: "$__all" },
          refresh: 2,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

// ---- entry point -----------------------------------------------------------------------

const HEADER = "# Generated by FreshTrack Deploy (compose/render/observability.ts). Edits on the host are replaced at the next deploy.\n";
const yaml = (doc: unknown) => HEADER + stringify(doc, { lineWidth: 0 });

export const ALLOY_CONFIG_PATH = path.join(__dirname, "..", "files", "observability", "config.alloy");

export function renderObservability(input: BundleInput): { compose: object; files: Record<string, string> } {
  const compose = renderCompose(input);
  const files: Record<string, string> = {
    "config/prometheus.yml": yaml(prometheusConfig(input)),
    "config/alerts.yml": yaml({ groups: alertRules(input) }),
    "config/alertmanager.yml": yaml(alertmanagerConfig(input)),
    "config/loki.yml": yaml(lokiConfig()),
    "config/blackbox.yml": yaml(blackboxConfig(input)),
    "config/alloy.alloy": fs.readFileSync(ALLOY_CONFIG_PATH, "utf8"),
    "config/grafana/provisioning/datasources/datasources.yml": yaml(grafanaDatasources()),
    "config/grafana/provisioning/dashboards/freshtrack.yml": yaml(grafanaDashboardProvider()),
    "config/grafana/dashboards/freshtrack.json": JSON.stringify(dashboard(input), null, 2) + "\n",
  };
  return { compose, files };
}
