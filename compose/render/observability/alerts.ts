// alerts.yml: the Prometheus alert rules as typed data (the tests enumerate them), in four
// groups: the Watchdog heartbeat, availability, backups, host.
import type { BundleInput } from "../../bundle-input";
import { BACKEND_READY_URL, FRONTEND_HEALTH_URL, publicProbeUrl } from "./blackbox";

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
/** Real filesystems only: the disk alert and the dashboard's disk panel skip tmpfs, overlay and the like. */
export const REAL_FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"';
export const BACKUP_METRIC = "freshtrack_backup_last_success_timestamp_seconds";
export const RESTORE_CHECK_METRIC = "freshtrack_restore_check_last_success_timestamp_seconds";
export const RESTORE_CHECK_MAX_AGE_DAYS = 8;
/**
 * bin/move-import, bin/move-export, bin/deploy (metrics/move.prom): 1 while a move holds this
 * side's backend and worker stopped on purpose; label state: standby (a new side before its
 * cutover) or frozen (a side whose writes moved to the other one).
 */
export const MOVE_HELD_METRIC = "freshtrack_move_app_held";
export const MOVE_HELD_SINCE_METRIC = "freshtrack_move_app_held_since_seconds";
/** A hold this old is a move left half-done: it warns. */
export const MOVE_HELD_MAX_DAYS = 7;
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
      // A move stops the backend on purpose (standby or frozen; the holder keeps requests): no page then.
      expr: `probe_success{job="blackbox-internal",probe="backend"} == 0 unless on() ${MOVE_HELD_METRIC} == 1`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Backend not ready: TTN webhooks are being refused",
        description: `${BACKEND_READY_URL} has failed every probe for 2 minutes (database unreachable or backend down). Readings sent by TTN now are lost. Check: bin/status; docker compose logs backend. (Not raised while a move holds the backend stopped on purpose: ${MOVE_HELD_METRIC}.)`,
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
      // A standby side (a move's new side before cutover) serves nothing by design. A frozen one
      // still must: its holder answers for the side that took over.
      expr: `probe_success{job="blackbox-public",probe="public"} == 0 unless on() ${MOVE_HELD_METRIC}{state="standby"} == 1`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: `https://${domain} is unreachable through Caddy`,
        description: `${publicProbeUrl(input)}${input.config.app.tlsMode === "acme" ? "" : ` (Host ${domain})`} has failed for 5 minutes (${input.config.app.tlsMode === "acme" ? "DNS, Caddy, TLS certificate or firewall" : "Caddy or its routing"}) while the probe of the backend inside the network may still pass. Check: docker compose logs caddy.`,
      },
    },
    {
      alert: "FreshtrackMoveHeldTooLong",
      expr: `${MOVE_HELD_METRIC} == 1 and on() (time() - ${MOVE_HELD_SINCE_METRIC}) > ${MOVE_HELD_MAX_DAYS * 86400}`,
      labels: { severity: "warning" },
      annotations: {
        summary: `A move has held this side's backend and worker stopped for over ${MOVE_HELD_MAX_DAYS} days`,
        description: `state {{ $labels.state }}: standby is a move's new side waiting for its cutover (run the cutover, or roll back); frozen is a side whose writes moved to the other one (retire and finish the move, or roll back). See docs/move.md. While the hold lasts, FreshtrackBackendDown and FreshtrackBackupStale are not raised on this host (its scheduled backups are skipped: the serving side backs up).`,
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
      // No `for`: the age only grows, so it is exact the moment it passes the limit. A side a move
      // holds skips its scheduled backups (bin/backup --scheduled): the serving side backs up.
      alert: "FreshtrackBackupStale",
      expr: `time() - max(${BACKUP_METRIC}) > ${ageH * 3600} unless on() ${MOVE_HELD_METRIC} == 1`,
      labels: { severity: "critical", cause: "stale" },
      annotations: {
        summary: `Newest good backup is older than ${ageH} hours`,
        description: `The last successful bin/backup finished {{ $value | humanizeDuration }} ago (limit ${ageH}h). Check: tail APP_DIR/state/audit.log; run bin/backup by hand.`,
      },
    },
    {
      // Same alert, second cause: no metric means no proof of any backup. `for` covers a Prometheus restart.
      alert: "FreshtrackBackupStale",
      expr: `absent(${BACKUP_METRIC}) unless on() ${MOVE_HELD_METRIC} == 1`,
      for: "10m",
      labels: { severity: "critical", cause: "missing" },
      annotations: {
        summary: "No successful backup is recorded on this host",
        description: `${BACKUP_METRIC} is missing: no backup has succeeded on this host (the deploy backs a new install up at once unless the backups place already holds backups: restore, then run bin/backup), APP_DIR/metrics/backup.prom is missing or unreadable by node-exporter (uid 65534), or node-exporter is down.`,
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
