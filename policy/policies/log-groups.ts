// log-group-retention: CloudWatch keeps logs forever by default. Forever costs
// money every month and keeps personal data (emails, phone numbers in alert
// logs) longer than anyone intended.
import { definePolicy } from "../lib/types";
import { isUnknown, num } from "../lib/values";

export const TYPES = { logGroup: "aws:cloudwatch/logGroup:LogGroup" };

export interface LogRetentionConfig {
  minDays: number;
  maxDays: number;
}

export const logGroupRetention = definePolicy<LogRetentionConfig>({
  name: "log-group-retention",
  description: "Every CloudWatch log group has a retention period (not 'never expire').",
  enforcementLevel: "advisory",
  why: "Unbounded logs are a cost and privacy problem, not a safety one: nothing is lost or leaked by keeping them. It warns; a stack under a legal hold may relax it.",
  remediation: "Set retentionInDays (config awsLogRetentionDays, default 30) on the log group.",
  types: Object.values(TYPES),
  configSchema: { properties: { minDays: { type: "integer", minimum: 1, default: 1 }, maxDays: { type: "integer", minimum: 1, default: 3653 } } },
  defaults: { minDays: 1, maxDays: 3653 },
  validateResource: (r, cfg) => {
    if (r.type !== TYPES.logGroup) return [];
    const days = num(r.props.retentionInDays);
    if (isUnknown(days)) return [];
    if (days === undefined || days === 0) return [`log group ${String(r.props.name ?? r.name)} has no retentionInDays: its logs never expire.`];
    if (days < cfg.minDays) return [`log group ${String(r.props.name ?? r.name)} keeps logs ${days} days; at least ${cfg.minDays} are required.`];
    if (days > cfg.maxDays) return [`log group ${String(r.props.name ?? r.name)} keeps logs ${days} days; at most ${cfg.maxDays} are allowed.`];
    return [];
  },
});
