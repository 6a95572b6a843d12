// The rendered Prometheus config, alert rules and Alertmanager config, checked by
// the real tools: promtool 2.42 (Debian) for `check config`, `check rules` and
// `test rules` (a fires / does-not-fire case for every alert), amtool for
// `check-config`. Runs in a temp dir laid out like /etc/prometheus, so the
// relative `rule_files` path resolves exactly as in the container.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { renderObservability } from "../../compose/render/observability";
import {
  alertRules,
  AlertRule,
  BACKUP_METRIC,
  BACKUP_OFFHOST_METRIC,
  BACKUP_ONHOST_ALERT,
  BACKUP_ONHOST_REPEAT,
  MOVE_HELD_METRIC,
  MOVE_HELD_SINCE_METRIC,
  RESTORE_CHECK_METRIC,
  WATCHDOG_ALERT,
} from "../../compose/render/observability/alerts";
import { BACKEND_READY_URL, FRONTEND_HEALTH_URL, publicProbeUrl } from "../../compose/render/observability/blackbox";
import { observabilityInput, OPERATOR_EMAIL } from "../fixtures/observability/input";

function run(cmd: string, args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function onPath(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

function writeAll(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
}

// ---- rule unit tests (promtool test rules format), generated as typed data -------

interface ExpAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: ExpAlert[];
}
interface TestGroup {
  name: string;
  interval: string;
  input_series: { series: string; values: string }[];
  alert_rule_test: AlertTest[];
}

const input = observabilityInput();
const rules: AlertRule[] = alertRules(input).flatMap((g) => g.rules);

function rule(alertname: string, cause?: string): AlertRule {
  const r = rules.find((x) => x.alert === alertname && x.labels.cause === cause);
  assert.ok(r, `no rule ${alertname}${cause ? ` (${cause})` : ""}`);
  return r;
}

/** The rule's annotations with each `{{ ... }}` replaced by what Prometheus must render for this case. */
function annotations(r: AlertRule, values: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, text] of Object.entries(r.annotations)) {
    out[k] = text.replace(/\{\{[^}]*\}\}/g, (t) => {
      assert.ok(t in values, `case gives no value for ${t} in ${r.alert}.${k}`);
      return values[t];
    });
  }
  return out;
}

const fires = (alertname: string, eval_time: string, seriesLabels: Record<string, string>, values: Record<string, string> = {}, cause?: string): AlertTest => {
  const r = rule(alertname, cause);
  return { eval_time, alertname, exp_alerts: [{ exp_labels: { ...seriesLabels, ...r.labels }, exp_annotations: annotations(r, values) }] };
};
const silent = (alertname: string, eval_time: string): AlertTest => ({ eval_time, alertname, exp_alerts: [] });

const sel = (metric: string, labels: Record<string, string>) =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;

const BACKEND = { instance: BACKEND_READY_URL, job: "blackbox-internal", probe: "backend" };
const FRONTEND = { instance: FRONTEND_HEALTH_URL, job: "blackbox-internal", probe: "frontend" };
const PUBLIC = { instance: publicProbeUrl(input), job: "blackbox-public", probe: "public" };
const NODE = { instance: "node-exporter:9100", job: "node" };
const ROOT_FS = { ...NODE, device: "/dev/vda1", fstype: "ext4", mountpoint: "/" };
const TMP_FS = { ...NODE, device: "tmpfs", fstype: "tmpfs", mountpoint: "/run" };
const WORKER = {
  container_label_com_docker_compose_service: "worker",
  id: "/system.slice/docker-abc.scope",
  image: "ghcr.io/acme/frostguard-worker:1.2.3",
  instance: "alloy:12345",
  job: "containers",
  name: "freshtrack-worker-1",
};
const PROBE_FAILING_FROM_1M = "1x1 0x20"; // 1m steps: up at 0m and 1m, failing from 2m on
/** Backend and public probes failing from 2m on, on a side whose move hold (metrics/move.prom) is `state value`. */
const failingWhileHeld = (state: string, value: 0 | 1) => [
  { series: sel("probe_success", BACKEND), values: PROBE_FAILING_FROM_1M },
  { series: sel("probe_success", PUBLIC), values: PROBE_FAILING_FROM_1M },
  { series: sel(MOVE_HELD_METRIC, { ...NODE, state }), values: `${value}x20` },
];

function ruleTestGroups(): TestGroup[] {
  const days = 86400;
  return [
    {
      name: "backend down: fires after 2m of failed readiness probes, not before, not when healthy",
      interval: "1m",
      input_series: [
        { series: sel("probe_success", BACKEND), values: PROBE_FAILING_FROM_1M },
        { series: sel("probe_success", FRONTEND), values: "1x20" },
        { series: sel("probe_success", PUBLIC), values: "1x20" },
      ],
      alert_rule_test: [
        silent("FreshtrackBackendDown", "1m"),
        silent("FreshtrackBackendDown", "3m"), // failing 1m: pending only
        fires("FreshtrackBackendDown", "4m", BACKEND),
        fires("FreshtrackBackendDown", "10m", BACKEND),
        silent("FreshtrackFrontendDown", "10m"),
        silent("FreshtrackPublicEndpointDown", "10m"),
      ],
    },
    {
      name: "frontend down",
      interval: "1m",
      input_series: [{ series: sel("probe_success", FRONTEND), values: PROBE_FAILING_FROM_1M }],
      alert_rule_test: [silent("FreshtrackFrontendDown", "3m"), fires("FreshtrackFrontendDown", "4m", FRONTEND)],
    },
    {
      name: "public endpoint down for 5m; inhibition is Alertmanager's job, the rule still fires",
      interval: "1m",
      input_series: [{ series: sel("probe_success", PUBLIC), values: PROBE_FAILING_FROM_1M }],
      alert_rule_test: [silent("FreshtrackPublicEndpointDown", "6m"), fires("FreshtrackPublicEndpointDown", "7m", PUBLIC)],
    },
    {
      name: "a move's standby side (backend stopped on purpose before its cutover): neither the backend nor the public endpoint pages",
      interval: "1m",
      input_series: failingWhileHeld("standby", 1),
      alert_rule_test: [silent("FreshtrackBackendDown", "10m"), silent("FreshtrackPublicEndpointDown", "10m"), silent("FreshtrackMoveHeldTooLong", "10m")],
    },
    {
      name: "a move's frozen side: the backend does not page, the public endpoint still does (its holder must answer)",
      interval: "1m",
      input_series: failingWhileHeld("frozen", 1),
      alert_rule_test: [silent("FreshtrackBackendDown", "10m"), fires("FreshtrackPublicEndpointDown", "7m", PUBLIC)],
    },
    {
      name: "a host whose move ended (hold 0, state none): the backend and the public endpoint page again",
      interval: "1m",
      input_series: failingWhileHeld("none", 0),
      alert_rule_test: [fires("FreshtrackBackendDown", "4m", BACKEND), fires("FreshtrackPublicEndpointDown", "7m", PUBLIC)],
    },
    {
      name: "certificate with 10 days left fires; 30 days left does not",
      interval: "1m",
      input_series: [{ series: sel("probe_ssl_earliest_cert_expiry", PUBLIC), values: `${10 * days + 20 * 60}x30` }],
      alert_rule_test: [
        silent("FreshtrackCertificateExpiringSoon", "10m"), // pending (for: 15m)
        fires("FreshtrackCertificateExpiringSoon", "20m", PUBLIC, { '{{ $value | printf "%.1f" }}': "10.0" }),
      ],
    },
    {
      name: "certificate far from expiry",
      interval: "1m",
      input_series: [{ series: sel("probe_ssl_earliest_cert_expiry", PUBLIC), values: `${30 * days}x30` }],
      alert_rule_test: [silent("FreshtrackCertificateExpiringSoon", "20m")],
    },
    {
      name: "backup stale: last success at t=0 fires exactly after 26h, not at 26h",
      interval: "1m",
      input_series: [{ series: sel(BACKUP_METRIC, NODE), values: "0x1600" }],
      alert_rule_test: [
        silent("FreshtrackBackupStale", "25h"),
        silent("FreshtrackBackupStale", "26h"), // age exactly 26h is not older than 26h
        fires("FreshtrackBackupStale", "26h1m", {}, { "{{ $value | humanizeDuration }}": "1d 2h 1m 0s" }, "stale"),
        silent("FreshtrackBackupTimestampInvalid", "26h1m"),
      ],
    },
    {
      name: "backup fresh: a daily backup (new timestamp at 24h) keeps it quiet at 26h30m",
      interval: "1m",
      input_series: [{ series: sel(BACKUP_METRIC, NODE), values: `0x1439 ${1 * days}x200` }],
      alert_rule_test: [silent("FreshtrackBackupStale", "26h30m"), silent("FreshtrackBackupStale", "10m")],
    },
    {
      name: "backup metric absent: fires after 10m (no backup ever / textfile missing / node-exporter down)",
      interval: "1m",
      input_series: [{ series: sel("up", NODE), values: "1x30" }],
      alert_rule_test: [silent("FreshtrackBackupStale", "5m"), fires("FreshtrackBackupStale", "11m", {}, {}, "missing")],
    },
    {
      name: "a move's standby side (a new host, no backup of its own yet: its scheduled ones are skipped) does not page missing backups; once the hold ends it does",
      interval: "1m",
      input_series: [
        { series: sel("up", NODE), values: "1x60" },
        { series: sel(MOVE_HELD_METRIC, { ...NODE, state: "standby" }), values: "1x20 _x40" },
        { series: sel(MOVE_HELD_METRIC, { ...NODE, state: "none" }), values: "_x20 0x40" },
      ],
      // The held sample of 20m is read until 25m (the lookback), then `for: 10m`.
      alert_rule_test: [
        silent("FreshtrackBackupStale", "15m"),
        silent("FreshtrackBackupStale", "30m"),
        fires("FreshtrackBackupStale", "45m", {}, {}, "missing"),
      ],
    },
    {
      name: "a move's frozen side (its backups stopped at the cutover) does not page a stale backup; a side no longer held does",
      interval: "1h",
      input_series: [
        { series: sel(BACKUP_METRIC, NODE), values: "0x40" },
        { series: sel(MOVE_HELD_METRIC, { ...NODE, state: "frozen" }), values: "1x30 _x10" },
        { series: sel(MOVE_HELD_METRIC, { ...NODE, state: "none" }), values: "_x30 0x10" },
      ],
      alert_rule_test: [
        silent("FreshtrackBackupStale", "27h"),
        fires("FreshtrackBackupStale", "32h", {}, { "{{ $value | humanizeDuration }}": "1d 8h 0m 0s" }, "stale"),
      ],
    },
    {
      name: "backup timestamp in the future (e.g. milliseconds) is reported, and the stale alert stays quiet",
      interval: "1m",
      input_series: [{ series: sel(BACKUP_METRIC, NODE), values: "10000x30" }],
      alert_rule_test: [
        silent("FreshtrackBackupTimestampInvalid", "5m"),
        fires("FreshtrackBackupTimestampInvalid", "15m", {}, { "{{ $value | humanizeDuration }}": "2h 31m 40s" }),
        silent("FreshtrackBackupStale", "15m"),
      ],
    },
    {
      name: "backups on this host only (freshtrack_backup_offhost 0) fires at once; off-host (1) and no metric stay quiet",
      interval: "1m",
      input_series: [{ series: sel(BACKUP_OFFHOST_METRIC, NODE), values: "0x30" }],
      alert_rule_test: [fires(BACKUP_ONHOST_ALERT, "1m", {}), fires(BACKUP_ONHOST_ALERT, "30m", {})],
    },
    {
      name: "backups off the host: the on-host-only reminder stays quiet",
      interval: "1m",
      input_series: [
        { series: sel(BACKUP_OFFHOST_METRIC, NODE), values: "1x30" },
        { series: sel("up", NODE), values: "1x30" },
      ],
      alert_rule_test: [silent(BACKUP_ONHOST_ALERT, "1m"), silent(BACKUP_ONHOST_ALERT, "30m")],
    },
    {
      name: "textfile collector error",
      interval: "1m",
      input_series: [
        { series: sel("node_textfile_scrape_error", NODE), values: "1x30" },
        { series: sel("node_textfile_scrape_error", { ...NODE, instance: "node-exporter-ok:9100" }), values: "0x30" },
      ],
      alert_rule_test: [silent("FreshtrackTextfileMetricsBroken", "10m"), fires("FreshtrackTextfileMetricsBroken", "20m", NODE)],
    },
    {
      name: "disk: / at 90% fires, a full tmpfs and an 80% disk do not",
      interval: "1m",
      input_series: [
        { series: sel("node_filesystem_avail_bytes", ROOT_FS), values: "10x30" },
        { series: sel("node_filesystem_size_bytes", ROOT_FS), values: "100x30" },
        { series: sel("node_filesystem_avail_bytes", TMP_FS), values: "1x30" },
        { series: sel("node_filesystem_size_bytes", TMP_FS), values: "100x30" },
      ],
      alert_rule_test: [
        silent("FreshtrackDiskAlmostFull", "5m"),
        fires("FreshtrackDiskAlmostFull", "15m", ROOT_FS, { "{{ $labels.mountpoint }}": "/", '{{ $value | printf "%.0f" }}': "90" }),
      ],
    },
    {
      name: "disk at 80%",
      interval: "1m",
      input_series: [
        { series: sel("node_filesystem_avail_bytes", ROOT_FS), values: "20x30" },
        { series: sel("node_filesystem_size_bytes", ROOT_FS), values: "100x30" },
      ],
      alert_rule_test: [silent("FreshtrackDiskAlmostFull", "15m")],
    },
    {
      name: "memory: 95% used fires after 10m",
      interval: "1m",
      input_series: [
        { series: sel("node_memory_MemAvailable_bytes", NODE), values: "5x30" },
        { series: sel("node_memory_MemTotal_bytes", NODE), values: "100x30" },
      ],
      alert_rule_test: [silent("FreshtrackMemoryHigh", "5m"), fires("FreshtrackMemoryHigh", "15m", NODE, { '{{ $value | printf "%.0f" }}': "95" })],
    },
    {
      name: "memory: 50% used",
      interval: "1m",
      input_series: [
        { series: sel("node_memory_MemAvailable_bytes", NODE), values: "50x30" },
        { series: sel("node_memory_MemTotal_bytes", NODE), values: "100x30" },
      ],
      alert_rule_test: [silent("FreshtrackMemoryHigh", "15m")],
    },
    {
      name: "container restarting: two restarts in 15m fire",
      interval: "1m",
      input_series: [{ series: sel("container_start_time_seconds", WORKER), values: "100x4 400x4 700x10" }],
      alert_rule_test: [
        silent("FreshtrackContainerRestarting", "7m"),
        fires("FreshtrackContainerRestarting", "12m", WORKER, {
          "{{ $labels.name }}": WORKER.name,
          "{{ $value }}": "2",
          "{{ $labels.container_label_com_docker_compose_service }}": "worker",
        }),
      ],
    },
    {
      name: "container restarted once (a deploy or a single crash) does not fire",
      interval: "1m",
      input_series: [{ series: sel("container_start_time_seconds", WORKER), values: "100x4 400x20" }],
      alert_rule_test: [silent("FreshtrackContainerRestarting", "12m")],
    },
    {
      name: "scrape target down for 5m",
      interval: "1m",
      input_series: [
        { series: sel("up", { instance: "loki:3100", job: "loki" }), values: "0x20" },
        { series: sel("up", NODE), values: "1x20" },
      ],
      alert_rule_test: [
        silent("FreshtrackScrapeTargetDown", "3m"),
        fires(
          "FreshtrackScrapeTargetDown",
          "6m",
          { instance: "loki:3100", job: "loki" },
          { "{{ $labels.job }}": "loki", "{{ $labels.instance }}": "loki:3100" },
        ),
      ],
    },
    {
      name: "dead-man's switch: the Watchdog fires from the first evaluation with no input series at all, and keeps firing",
      interval: "1m",
      input_series: [],
      alert_rule_test: [fires(WATCHDOG_ALERT, "0m", {}), fires(WATCHDOG_ALERT, "1m", {}), fires(WATCHDOG_ALERT, "6h", {})],
    },
  ];
}

/** Week-long cases, run with a 1h evaluation interval (a 1m one would mean 11,000 evaluations). Their rules have no `for`. */
function slowRuleTestGroups(): TestGroup[] {
  return [
    {
      name: "restore check: last success at t=0 fires after 8 days, not before (5m steps stay within the lookback)",
      interval: "5m",
      input_series: [{ series: sel(RESTORE_CHECK_METRIC, NODE), values: "0x2400" }],
      alert_rule_test: [
        silent("FreshtrackRestoreCheckStale", "7d23h"),
        fires("FreshtrackRestoreCheckStale", "8d1h", {}, { "{{ $value | humanizeDuration }}": "8d 1h 0m 0s" }),
      ],
    },
    {
      name: "a move's hold set at t=0 warns after 7 days, not before",
      interval: "1h",
      input_series: [
        { series: sel(MOVE_HELD_METRIC, { ...NODE, state: "frozen" }), values: "1x240" },
        { series: sel(MOVE_HELD_SINCE_METRIC, NODE), values: "0x240" },
      ],
      alert_rule_test: [
        silent("FreshtrackMoveHeldTooLong", "6d23h"),
        fires("FreshtrackMoveHeldTooLong", "7d1h", { ...NODE, state: "frozen" }, { "{{ $labels.state }}": "frozen" }),
      ],
    },
    {
      name: "a hold set again on day 6 (a deploy during the move) is 1 day old on day 7; a side no longer held never warns",
      interval: "1h",
      input_series: [
        { series: sel(MOVE_HELD_METRIC, { ...NODE, state: "standby" }), values: "1x240" },
        { series: sel(MOVE_HELD_SINCE_METRIC, NODE), values: `${6 * 86400}x240` },
        { series: sel(MOVE_HELD_METRIC, { ...NODE, instance: "other:9100", state: "none" }), values: "0x240" },
      ],
      alert_rule_test: [silent("FreshtrackMoveHeldTooLong", "7d1h")],
    },
  ];
}

describe("tools: promtool on the rendered Prometheus config and alert rules", function () {
  this.timeout(120_000);
  let dir = "";
  before(() => {
    assert.ok(onPath("promtool"), "promtool is not installed (Debian package: prometheus)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-prom-"));
    const { files } = renderObservability(input);
    // Same layout as the container's /etc/prometheus: prometheus.yml next to alerts.yml.
    writeAll(dir, {
      "prometheus.yml": files["config/prometheus.yml"],
      "alerts.yml": files["config/alerts.yml"],
      "alertmanager.yml": files["config/alertmanager.yml"],
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("promtool check config accepts prometheus.yml and finds the rule file", () => {
    const r = run("promtool", ["check", "config", "prometheus.yml"], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: 1 rule files found/);
  });

  it("promtool check rules accepts alerts.yml (including its lint for duplicate rules)", () => {
    const r = run("promtool", ["check", "rules", "alerts.yml"], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it("promtool check rules refuses a broken rule (the check can fail)", () => {
    fs.writeFileSync(path.join(dir, "broken.yml"), stringify({ groups: [{ name: "x", rules: [{ alert: "Broken", expr: "time() - max(" }] }] }));
    const r = run("promtool", ["check", "rules", "broken.yml"], dir);
    assert.notEqual(r.code, 0, r.out);
  });

  it("every alert (and each cause of the backup alert) has a firing and a non-firing test case", () => {
    const tests = [...ruleTestGroups(), ...slowRuleTestGroups()].flatMap((g) => g.alert_rule_test);
    for (const r of rules) {
      const mine = tests.filter((t) => t.alertname === r.alert);
      const firing = mine.some((t) => t.exp_alerts.some((a) => a.exp_labels.cause === r.labels.cause));
      assert.ok(firing, `no firing case for ${r.alert} ${r.labels.cause ?? ""}`);
      // The Watchdog is the one alert that must never be silent: its cases only ever expect it firing.
      if (r.alert === WATCHDOG_ALERT)
        assert.ok(
          mine.every((t) => t.exp_alerts.length === 1),
          "a Watchdog case expects silence",
        );
      else
        assert.ok(
          mine.some((t) => t.exp_alerts.length === 0),
          `no non-firing case for ${r.alert}`,
        );
    }
  });

  it("promtool test rules: every case passes", () => {
    const tests = { rule_files: ["alerts.yml"], evaluation_interval: "1m", tests: ruleTestGroups() };
    fs.writeFileSync(path.join(dir, "alerts.test.yml"), stringify(tests, { lineWidth: 0 }));
    const r = run("promtool", ["test", "rules", "alerts.test.yml"], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it("promtool test rules: the week-long cases pass", () => {
    assert.ok(
      slowRuleTestGroups().every((g) => g.alert_rule_test.every((t) => !rule(t.alertname).for)),
      "1h evaluation steps would distort a `for`",
    );
    const tests = { rule_files: ["alerts.yml"], evaluation_interval: "1h", tests: slowRuleTestGroups() };
    fs.writeFileSync(path.join(dir, "alerts-slow.test.yml"), stringify(tests, { lineWidth: 0 }));
    const r = run("promtool", ["test", "rules", "alerts-slow.test.yml"], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it("promtool test rules fails when a case expects the wrong thing (the test can fail)", () => {
    const wrong = ruleTestGroups().slice(0, 1);
    wrong[0].alert_rule_test = [silent("FreshtrackBackendDown", "10m")]; // it does fire at 10m
    fs.writeFileSync(path.join(dir, "wrong.test.yml"), stringify({ rule_files: ["alerts.yml"], evaluation_interval: "1m", tests: wrong }, { lineWidth: 0 }));
    const r = run("promtool", ["test", "rules", "wrong.test.yml"], dir);
    assert.notEqual(r.code, 0, r.out);
    // A Watchdog expected silent is caught too: it always fires.
    fs.writeFileSync(
      path.join(dir, "wrong-watchdog.test.yml"),
      stringify(
        {
          rule_files: ["alerts.yml"],
          evaluation_interval: "1m",
          tests: [{ interval: "1m", input_series: [], alert_rule_test: [silent(WATCHDOG_ALERT, "5m")] }],
        },
        { lineWidth: 0 },
      ),
    );
    const w = run("promtool", ["test", "rules", "wrong-watchdog.test.yml"], dir);
    assert.notEqual(w.code, 0, w.out);
  });

  it("the tlsMode=internal variant (no certificate alert) passes check rules too", () => {
    const internal = renderObservability(observabilityInput({ tlsMode: "internal" }));
    fs.writeFileSync(path.join(dir, "alerts-internal.yml"), internal.files["config/alerts.yml"]);
    const r = run("promtool", ["check", "rules", "alerts-internal.yml"], dir);
    assert.equal(r.code, 0, r.out);
    const groups = parse(internal.files["config/alerts.yml"]) as { groups: { rules: { alert: string }[] }[] };
    assert.ok(!groups.groups.flatMap((g) => g.rules).some((x) => x.alert === "FreshtrackCertificateExpiringSoon"));
  });
});

describe("tools: amtool on the rendered Alertmanager config", function () {
  this.timeout(60_000);
  let dir = "";
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-am-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Deliberately not skipped: a missing amtool must turn this red so it gets installed
  // (Debian package prometheus-alertmanager).
  it("amtool is installed", () => {
    assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
  });

  const amConfig = (keys: Parameters<typeof observabilityInput>[1]) => renderObservability(observabilityInput({}, keys)).files["config/alertmanager.yml"];
  // Only operatorEmail and the app's resendApiKey: what a customer without Slack has.
  const emailOnly = () => amConfig(["vmSshPrivateKey", "resendApiKey"]);
  const variants: [string, () => string][] = [
    ["webhook configured (Slack receiver, api_url_file)", () => renderObservability(observabilityInput()).files["config/alertmanager.yml"]],
    ["nothing to deliver through (null receiver)", () => amConfig(["vmSshPrivateKey"])],
    ["only operatorEmail + resendApiKey (email through Resend, auth_password_file)", emailOnly],
    [
      "everything: webhook, email, heartbeat URL (webhook url_file)",
      () => amConfig(["vmSshPrivateKey", "resendApiKey", "alertWebhookUrl", "alertHeartbeatUrl"]),
    ],
  ];
  /** `amtool config routes test`: exit 0 only when the labels resolve to exactly `expect`. */
  const routesTo = (config: string, expect: string, labels: string[]) => {
    fs.writeFileSync(path.join(dir, "routes.yml"), config);
    return run("amtool", ["config", "routes", "test", "--config.file=routes.yml", `--verify.receivers=${expect}`, ...labels], dir);
  };

  it("only operatorEmail set: amtool routes critical and warning alerts to the operator receiver, which mails operatorEmail and nothing else", () => {
    assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
    for (const labels of [
      ["alertname=FreshtrackBackendDown", "severity=critical"],
      ["alertname=FreshtrackDiskAlmostFull", "severity=warning", "mountpoint=/"],
    ]) {
      const r = routesTo(emailOnly(), "operator", labels);
      assert.equal(r.code, 0, `${labels.join(" ")}: ${r.out}`);
    }
    const operator = (parse(emailOnly()) as { receivers: { name: string; email_configs?: { to: string; smarthost: string }[] }[] }).receivers.find(
      (x) => x.name === "operator",
    );
    assert.deepEqual(Object.keys(operator ?? {}).sort(), ["email_configs", "name"]);
    assert.deepEqual(
      operator?.email_configs?.map((e) => [e.to, e.smarthost]),
      [[OPERATOR_EMAIL, "smtp.resend.com:587"]],
    );
  });

  it("the on-host-only backups reminder routes to the operator, repeated once a day", () => {
    assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
    const r = routesTo(emailOnly(), "operator", [`alertname=${BACKUP_ONHOST_ALERT}`, "severity=warning"]);
    assert.equal(r.code, 0, r.out);
    const routes = (parse(emailOnly()) as { route: { routes: { matchers: string[]; repeat_interval?: string }[] } }).route.routes;
    assert.equal(routes.find((x) => x.matchers.includes(`alertname="${BACKUP_ONHOST_ALERT}"`))?.repeat_interval, BACKUP_ONHOST_REPEAT);
  });

  it("the Watchdog routes to the heartbeat receiver only, with or without a heartbeat URL", () => {
    assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
    for (const config of [emailOnly(), amConfig(["vmSshPrivateKey", "resendApiKey", "alertWebhookUrl", "alertHeartbeatUrl"])]) {
      const r = routesTo(config, "heartbeat", [`alertname=${WATCHDOG_ALERT}`, "severity=none"]);
      assert.equal(r.code, 0, r.out);
    }
  });

  it("amtool routes test fails when the route does not match (the check can fail)", () => {
    assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
    assert.notEqual(routesTo(amConfig(["vmSshPrivateKey"]), "operator", ["alertname=FreshtrackBackendDown", "severity=critical"]).code, 0);
    assert.notEqual(routesTo(emailOnly(), "operator", [`alertname=${WATCHDOG_ALERT}`]).code, 0);
  });
  it("amtool check-config refuses a route to an undefined receiver (the check can fail)", () => {
    assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
    fs.writeFileSync(path.join(dir, "broken.yml"), stringify({ route: { receiver: "operator" }, receivers: [{ name: "null" }] }));
    const r = run("amtool", ["check-config", "broken.yml"], dir);
    assert.notEqual(r.code, 0, r.out);
  });

  for (const [name, render] of variants) {
    it(`amtool check-config: ${name}`, () => {
      assert.ok(onPath("amtool"), "amtool not found: apt-get install prometheus-alertmanager");
      fs.writeFileSync(path.join(dir, "alertmanager.yml"), render());
      const r = run("amtool", ["check-config", "alertmanager.yml"], dir);
      assert.equal(r.code, 0, r.out);
    });
  }
});
