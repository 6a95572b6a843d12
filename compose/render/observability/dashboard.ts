// The FreshTrack Grafana dashboard (freshtrack.json): probe, certificate, backup and
// restore-check status, host and container resources, and the container logs from Loki.
import type { BundleInput } from "../../bundle-input";
import { BACKUP_MAX_AGE_HOURS, BACKUP_METRIC, CERT_WARN_DAYS, REAL_FS, RESTORE_CHECK_MAX_AGE_DAYS, RESTORE_CHECK_METRIC } from "./alerts";
import { LOKI_DS, PROM_DS } from "./grafana";

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

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

export function dashboard(input: BundleInput): object {
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
    // Panel ids 1..n in reading order.
    panels: panels.map((p, i) => ({ id: i + 1, ...p })),
  };
}
