// DigitalOcean Monitoring alert policies as plain data. These watch the cloud
// side (droplet resources, managed database) from outside the host, so they
// still fire when the on-host observability stack is the thing that broke.

export type AlertScope = "droplet" | "database";

export interface AlertPolicy {
  /** Logical name, also the Pulumi resource name suffix. */
  name: string;
  scope: AlertScope;
  type: string;
  compare: "GreaterThan" | "LessThan";
  value: number;
  window: "5m" | "10m" | "30m" | "1h";
  description: string;
}

/** Windows DigitalOcean accepts for monitor alerts. */
export const ALERT_WINDOWS = ["5m", "10m", "30m", "1h"] as const;

export function alertPolicies(): AlertPolicy[] {
  return [
    {
      name: "droplet-cpu",
      scope: "droplet",
      type: "v1/insights/droplet/cpu",
      compare: "GreaterThan",
      value: 85,
      window: "10m",
      description: "FreshTrack droplet CPU above 85% for 10 minutes: webhooks may time out and readings be lost",
    },
    {
      name: "droplet-memory",
      scope: "droplet",
      type: "v1/insights/droplet/memory_utilization_percent",
      compare: "GreaterThan",
      value: 90,
      window: "10m",
      description: "FreshTrack droplet memory above 90% for 10 minutes: the OOM killer may stop the backend or Redis",
    },
    {
      name: "droplet-disk",
      scope: "droplet",
      type: "v1/insights/droplet/disk_utilization_percent",
      compare: "GreaterThan",
      value: 80,
      window: "5m",
      description: "FreshTrack droplet disk above 80%: Redis AOF and logs stop when it is full",
    },
    {
      name: "db-cpu",
      scope: "database",
      type: "v1/dbaas/alerts/cpu_alerts",
      compare: "GreaterThan",
      value: 85,
      window: "10m",
      description: "FreshTrack managed PostgreSQL CPU above 85% for 10 minutes",
    },
    {
      name: "db-memory",
      scope: "database",
      type: "v1/dbaas/alerts/memory_utilization_alerts",
      compare: "GreaterThan",
      value: 90,
      window: "10m",
      description: "FreshTrack managed PostgreSQL memory above 90% for 10 minutes",
    },
    {
      name: "db-disk",
      scope: "database",
      type: "v1/dbaas/alerts/disk_utilization_alerts",
      compare: "GreaterThan",
      value: 75,
      window: "5m",
      description: "FreshTrack managed PostgreSQL disk above 75%: a full database refuses every reading",
    },
  ];
}

export interface AlertRecipients<S> {
  emails: string[];
  slacks?: { channel: string; url: S }[];
}

/**
 * Where alerts go: always the operator's email; also the Slack-compatible
 * webhook when one is configured. Slack incoming webhooks post to the channel
 * they were created for; DigitalOcean still requires a channel name.
 */
export function alertRecipients<S>(operatorEmail: string, slackWebhook?: S): AlertRecipients<S> {
  const out: AlertRecipients<S> = { emails: [operatorEmail] };
  if (slackWebhook !== undefined) out.slacks = [{ channel: "#freshtrack-alerts", url: slackWebhook }];
  return out;
}
