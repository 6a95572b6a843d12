// alertmanager.yml: where alerts go. Critical and warning alerts to the operator (webhook
// and/or mail), the always-firing Watchdog to its own heartbeat receiver, and a null
// receiver so Alertmanager starts with no channel configured.
import type { BundleInput } from "../../bundle-input";
import { BACKUP_ONHOST_ALERT, BACKUP_ONHOST_REPEAT, WATCHDOG_ALERT } from "./alerts";
import { AlertEmail, alertEmail, AM_HEARTBEAT, AM_SMTP, AM_WEBHOOK, hasAlertWebhook, hasHeartbeatUrl } from "./secrets";

/** Alertmanager re-sends the Watchdog this often: every 5 minutes to a heartbeat URL, once a day by mail. */
export const HEARTBEAT_REPEAT = { url: "5m", email: "24h" } as const;

export function alertmanagerConfig(input: BundleInput): object {
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
