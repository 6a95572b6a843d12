// listener-https-only: plain HTTP exists only to redirect to HTTPS, and HTTPS
// never negotiates below TLS 1.2. Sensor webhooks and operator logins carry
// credentials; an HTTP listener that forwards would accept them in clear text.
import { definePolicy, Res, StackViolation } from "../lib/types";
import { asArray, asRecord, isUnknown, str } from "../lib/values";

export const TYPES = { lbListener: "aws:lb/listener:Listener", albListener: "aws:alb/listener:Listener" };
export const RULE_TYPES = { lbRule: "aws:lb/listenerRule:ListenerRule", albRule: "aws:alb/listenerRule:ListenerRule" };

/**
 * ELB security policies that refuse TLS 1.0 and 1.1 (AWS "Security policies for your
 * Application Load Balancer", checked 2026-11): TLS13-1-2-*, TLS13-1-3-*, TLS-1-2-*,
 * FS-1-2-*, and their FIPS/PQ variants. The listener default, ELBSecurityPolicy-2016-08,
 * accepts TLS 1.0.
 */
export const TLS12_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)/;

export const listenerHttpsOnly = definePolicy({
  name: "listener-https-only",
  description: "Every HTTP listener only redirects to HTTPS; every HTTPS listener uses a TLS 1.2+ security policy.",
  enforcementLevel: "mandatory",
  why: "Credentials (Stack Auth sessions, webhook secrets) must never cross the internet in clear text or over TLS 1.0/1.1.",
  remediation:
    'HTTP listener: a single default action {type: "redirect", redirect: {protocol: "HTTPS", port: "443", statusCode: "HTTP_301"}}. HTTPS listener: sslPolicy "ELBSecurityPolicy-TLS13-1-2-2021-06" (or another TLS13-1-2/TLS-1-2/FS-1-2 policy).',
  types: Object.values(TYPES),
  defaults: {},
  validateResource: (r) => {
    if (!Object.values(TYPES).includes(r.type)) return [];
    const out: string[] = [];
    const protocol = str(r.props.protocol) ?? "HTTP"; // the ALB default protocol is HTTP
    if (isUnknown(protocol)) return out;
    const actions = r.props.defaultActions;
    if (protocol.toUpperCase() === "HTTP") {
      if (isUnknown(actions)) return out;
      const list = asArray(actions);
      if (list.length === 0) out.push(`HTTP listener (port ${r.props.port ?? 80}) has no default action; it must redirect to HTTPS.`);
      for (const [i, a] of list.entries()) {
        const action = asRecord(a);
        const target = str(asRecord(action.redirect).protocol);
        if (action.type !== "redirect")
          out.push(`HTTP listener (port ${r.props.port ?? 80}) defaultActions[${i}] is "${String(action.type)}"; it must be a redirect to HTTPS.`);
        else if (target !== undefined && !isUnknown(target) && target.toUpperCase() !== "HTTPS")
          out.push(`HTTP listener (port ${r.props.port ?? 80}) defaultActions[${i}] redirects to ${target}; it must redirect to HTTPS.`);
        else if (target === undefined)
          out.push(`HTTP listener (port ${r.props.port ?? 80}) defaultActions[${i}] redirect keeps the request's protocol; set redirect.protocol "HTTPS".`);
      }
    } else if (protocol.toUpperCase() === "HTTPS" || protocol.toUpperCase() === "TLS") {
      const policy = str(r.props.sslPolicy);
      if (policy === undefined)
        out.push(`${protocol} listener (port ${r.props.port ?? 443}) has no sslPolicy; the default ELBSecurityPolicy-2016-08 accepts TLS 1.0.`);
      else if (!isUnknown(policy) && !TLS12_POLICY.test(policy))
        out.push(`${protocol} listener (port ${r.props.port ?? 443}) sslPolicy "${policy}" accepts TLS versions below 1.2.`);
    }
    return out;
  },
});

/** Is `rule` attached to `listener`? By recorded dependency (engine) or by ARN value (plans, existing stacks). */
function ruleOf(rule: Res, listener: Res): boolean {
  if ((rule.propertyDependencies?.listenerArn ?? []).includes(listener.key)) return true;
  const arn = rule.props.listenerArn;
  return typeof arn === "string" && [listener.arn, listener.props.arn].includes(arn);
}

export const httpListenerRulesRedirect = definePolicy({
  name: "http-listener-rules-redirect",
  description: "No listener rule on an HTTP listener forwards traffic: rules there may only redirect to HTTPS or answer with a fixed response.",
  enforcementLevel: "mandatory",
  why: "A forwarding rule on the HTTP listener bypasses its redirect: requests matching the rule (e.g. /api/*) would reach the app in clear text.",
  remediation: "Attach path rules to the HTTPS listener only; the HTTP listener keeps its single redirect default action.",
  types: [...Object.values(TYPES), ...Object.values(RULE_TYPES)],
  defaults: {},
  validateStack: (resources) => {
    const out: StackViolation[] = [];
    const http = resources.filter((r) => Object.values(TYPES).includes(r.type) && (str(r.props.protocol) ?? "HTTP") === "HTTP");
    for (const rule of resources.filter((r) => Object.values(RULE_TYPES).includes(r.type))) {
      const listener = http.find((l) => ruleOf(rule, l));
      if (!listener) continue;
      for (const [i, a] of asArray(rule.props.actions).entries()) {
        const action = asRecord(a);
        const ok =
          action.type === "fixed-response" || (action.type === "redirect" && String(asRecord(action.redirect).protocol ?? "").toUpperCase() === "HTTPS");
        if (!ok)
          out.push({
            resource: rule.key,
            message: `listener rule ${rule.name} on HTTP listener ${listener.name}: actions[${i}] is "${String(action.type)}"; only a redirect to HTTPS or a fixed response may serve plain HTTP.`,
          });
      }
    }
    return out;
  },
});
