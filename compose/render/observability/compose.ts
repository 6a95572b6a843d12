// compose.observability.yml: the eight services of the `observability` profile. Nothing
// publishes a port: Grafana is reached through an SSH tunnel (docs/observability.md).
// Nothing depends on an app service: monitoring must keep running when the app is down.
import { IMAGES, ImageKey, imageFor } from "../../../core/images";
import type { BundleInput } from "../../bundle-input";
import { appDirOf, HEALTH_START_INTERVAL, secretsDirExpr } from "../compose";
import { ComposeDoc, ComposeHealthcheck, ComposeService, DependsOn, normalizeCompose, PROJECT_NAME } from "../compose-types";
import { goMemLimit, OBSERVABILITY_BUDGET, ObservabilityService } from "./budget";
import { PROMETHEUS_RETENTION } from "./prometheus";
import { alertmanagerSecrets, GRAFANA_ADMIN, observabilitySecrets } from "./secrets";

export const OBSERVABILITY_PROFILE = "observability";

/**
 * A Compose service of this profile, narrowed from ComposeService: every one has a profile,
 * a health check, limits and rotated logs; secrets use the short syntax (/run/secrets/<name>)
 * and depends_on is a plain map (this file is the only one declaring these services).
 */
export type ObservabilityComposeService = Omit<ComposeService, "healthcheck" | "secrets" | "depends_on"> &
  Required<Pick<ComposeService, "image" | "profiles" | "volumes" | "restart" | "security_opt" | "deploy" | "logging">> & {
    healthcheck: Required<Omit<ComposeHealthcheck, "disable">>;
    secrets?: string[];
    depends_on?: DependsOn;
  };

export interface ObservabilityCompose extends ComposeDoc {
  name: typeof PROJECT_NAME;
  services: Record<ObservabilityService, ObservabilityComposeService>;
  volumes: Record<string, { name: string }>;
}

/** The profile's named volumes (data that outlives a container). */
export const OBSERVABILITY_VOLUMES = {
  prometheus: "freshtrack_prometheus",
  alertmanager: "freshtrack_alertmanager",
  grafana: "freshtrack_grafana",
  loki: "freshtrack_loki",
} as const;

/** cAdvisor's one read of Docker's state directory: container id -> read-write layer id. */
export const DOCKER_LAYERDB_MOUNTS = "/var/lib/docker/image/overlay2/layerdb/mounts";
/** GET paths the socket proxy lets Alloy call (the proxy anchors the regex). */
export const DOCKER_PROXY_ALLOW_GET = "(/v[0-9.]+)?/(_ping|version|info|networks|containers/json|containers/[a-zA-Z0-9][a-zA-Z0-9_.-]*/(json|logs))";

/** `${FT_APP_DIR:-<appDir>}`: bin/lib/paths.sh exports FT_APP_DIR before running Compose; the default is the configured APP_DIR. */
const appDirExpr = (input: BundleInput) => `\${FT_APP_DIR:-${appDirOf(input)}}`;

type Healthcheck = ObservabilityComposeService["healthcheck"];

/** busybox wget is in every prom/* image, in Grafana (Alpine) and in Loki. CMD form: no shell needed. */
const wgetCheck = (url: string, startPeriod = "30s"): Healthcheck => ({
  test: ["CMD", "wget", "-q", "-T", "4", "-O", "/dev/null", url],
  interval: "30s",
  timeout: "5s",
  retries: 3,
  start_period: startPeriod,
  start_interval: HEALTH_START_INTERVAL,
});

/** What every service of the profile shares: pinned image, profile, restart, no-new-privileges, limits from the budget, log rotation. */
function base(
  key: ImageKey & ObservabilityService,
  input: BundleInput,
): Pick<ObservabilityComposeService, "image" | "profiles" | "restart" | "security_opt" | "deploy" | "logging"> {
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

/** compose.observability.yml as a typed document. */
export function observabilityCompose(input: BundleInput): ObservabilityCompose {
  const amSecrets = alertmanagerSecrets(input);
  // A fresh object per use: a shared one would come out as YAML anchors/aliases.
  const healthy = () => ({ condition: "service_healthy" as const });
  const services: Record<ObservabilityService, ObservabilityComposeService> = {
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
        `${OBSERVABILITY_VOLUMES.prometheus}:/prometheus`,
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
      volumes: ["./config/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro", `${OBSERVABILITY_VOLUMES.alertmanager}:/alertmanager`],
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
        `${OBSERVABILITY_VOLUMES.grafana}:/var/lib/grafana`,
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
      volumes: ["./config/loki.yml:/etc/loki/loki.yml:ro", `${OBSERVABILITY_VOLUMES.loki}:/loki`],
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
        start_interval: HEALTH_START_INTERVAL,
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
      healthcheck: { test: ["CMD", "./healthcheck"], interval: "30s", timeout: "5s", retries: 3, start_period: "10s", start_interval: HEALTH_START_INTERVAL },
      // Not root: nobody, plus the host's docker group (its gid differs per host; bin/lib/paths.sh exports it).
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
  // Services by name, each one's keys in dclint's order (compose-types.ts).
  return normalizeCompose({
    name: PROJECT_NAME,
    services,
    volumes: Object.fromEntries(Object.values(OBSERVABILITY_VOLUMES).map((name) => [name, { name }])),
    ...(secretsUsed.length ? { secrets: Object.fromEntries(secretsUsed.map((s) => [s.name, { file: `${secretsDirExpr(input)}/${s.file}` }])) } : {}),
  });
}
