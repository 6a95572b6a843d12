// DigitalOcean Uptime: an external check of the public health URL, from
// DigitalOcean's probes outside the droplet and its network. It notices what
// the on-host monitoring cannot: the droplet, Docker or the whole host being down.
// Values are the API's (snake_case), as the DigitalOcean API documents them.

/** Probe regions: all four, so "down_global" means down from everywhere, not one bad route. */
export const UPTIME_REGIONS = ["us_east", "us_west", "eu_west", "se_asia"] as const;

export interface UptimeCheckSpec {
  name: string;
  type: "https";
  target: string;
  regions: string[];
}

export interface UptimeAlertSpec {
  /** Logical name, also the Pulumi resource name suffix. */
  name: string;
  type: "down_global" | "ssl_expiry" | "latency";
  period: "2m" | "3m" | "5m" | "10m" | "15m" | "30m" | "1h";
  threshold?: number;
  comparison?: "greater_than" | "less_than";
}

/** The readiness URL: 200 only when the backend reaches its database (TTN webhooks are accepted). */
export function uptimeCheck(domain: string, checkName: string): UptimeCheckSpec {
  return { name: checkName, type: "https", target: `https://${domain}/health/ready`, regions: [...UPTIME_REGIONS] };
}

/** Days before expiry the certificate alert fires (Caddy renews ACME certificates ~30 days ahead). */
export const SSL_EXPIRY_DAYS = 14;

export function uptimeAlerts(tlsMode: "acme" | "internal"): UptimeAlertSpec[] {
  const alerts: UptimeAlertSpec[] = [
    // Down from every region for 2 minutes: readings sent by TTN are being refused.
    { name: "down", type: "down_global", period: "2m" },
    { name: "latency", type: "latency", period: "5m", threshold: 5000, comparison: "greater_than" },
  ];
  // Caddy's internal CA is not publicly trusted; an expiry alert would only restate that.
  if (tlsMode === "acme") alerts.push({ name: "ssl-expiry", type: "ssl_expiry", period: "5m", threshold: SSL_EXPIRY_DAYS, comparison: "less_than" });
  return alerts;
}
