// Where alerts go (Slack-compatible webhook, mail through Resend, heartbeat URL) and the
// secret files those channels and Grafana read. Only the files' names and paths are here:
// their values are written by compose/secret-files.ts.
import { IMAGES } from "../../../core/images";
import type { BundleInput } from "../../bundle-input";
import type { ObservabilityService } from "./budget";

export interface ObservabilitySecret {
  /** Compose secret name (mounted at /run/secrets/<name>). */
  name: string;
  /** Relative to APP_DIR/secrets/ (docs/design.md). */
  file: string;
  uid: number;
}

export const GRAFANA_ADMIN: ObservabilitySecret = { name: "grafana_admin_password", file: "grafana/admin_password", uid: IMAGES.grafana.uid };
export const AM_WEBHOOK: ObservabilitySecret = { name: "alertmanager_webhook_url", file: "alertmanager/webhook_url", uid: IMAGES.alertmanager.uid };
export const AM_SMTP: ObservabilitySecret = { name: "alertmanager_smtp_password", file: "alertmanager/smtp_password", uid: IMAGES.alertmanager.uid };
export const AM_HEARTBEAT: ObservabilitySecret = { name: "alertmanager_heartbeat_url", file: "alertmanager/heartbeat_url", uid: IMAGES.alertmanager.uid };

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

/** The secret files Alertmanager mounts: one per configured channel. */
export function alertmanagerSecrets(input: BundleInput): ObservabilitySecret[] {
  return [...(hasAlertWebhook(input) ? [AM_WEBHOOK] : []), ...(alertEmail(input) ? [AM_SMTP] : []), ...(hasHeartbeatUrl(input) ? [AM_HEARTBEAT] : [])];
}

/**
 * Secret files this profile mounts: the top-level `secrets:` of compose.observability.yml
 * (a declared file that is missing would stop `docker compose up`; compose/secret-files.ts
 * writes all of them, empty when unset). Empty when observability is off.
 */
export function observabilitySecrets(input: BundleInput): ObservabilitySecret[] {
  if (!input.config.data.observability) return [];
  return [GRAFANA_ADMIN, ...alertmanagerSecrets(input)];
}

/**
 * The same secrets by reading service. Nothing in the bundle reads this (compose/bundle.ts
 * builds release.json's `secrets` map from the compose files themselves): it is the
 * expected value tests/unit/observability-render.test.ts checks the services' mounts against.
 */
export function observabilityServiceSecrets(input: BundleInput): Partial<Record<ObservabilityService, ObservabilitySecret[]>> {
  if (!input.config.data.observability) return {};
  const am = alertmanagerSecrets(input);
  return { grafana: [GRAFANA_ADMIN], ...(am.length ? { alertmanager: am } : {}) };
}
