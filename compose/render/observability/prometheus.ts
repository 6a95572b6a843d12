// prometheus.yml: what Prometheus scrapes (every service of the profile, cAdvisor through
// Alloy, the blackbox probes), where it sends alerts, and how long it keeps metrics.
import type { BundleInput } from "../../bundle-input";
import { BACKEND_READY_URL, FRONTEND_HEALTH_URL, publicProbeUrl } from "./blackbox";

/** Prometheus keeps 15 days or 2 GB of metrics, whichever is reached first. */
export const PROMETHEUS_RETENTION = { time: "15d", size: "2GB" };

/** Alloy's built-in cAdvisor exporter: per-container CPU, memory and start times. */
export const CADVISOR_PATH = "/api/v0/component/prometheus.exporter.cadvisor.containers/metrics";

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

export function prometheusConfig(input: BundleInput): object {
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
