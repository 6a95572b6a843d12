// ingress-restricted: from the internet only the web ports are reachable; SSH
// only from the operator CIDRs the stack configures; databases never from the
// world. Everything else talks over private networks or security-group references.
import { definePolicy, Res } from "../lib/types";
import { asArray, asRecord, isUnknown, num, str } from "../lib/values";

export const TYPES = {
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  doFirewall: "digitalocean:index/firewall:Firewall",
  doDatabaseFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
};

export interface IngressConfig {
  /** Public CIDRs allowed to reach SSH (22); mirror of the stack's doSshCidrs. Empty: no SSH from any public address. */
  sshCidrs: string[];
  /** Allow ICMP (ping) from anywhere. */
  allowWorldIcmp: boolean;
}

/** What the world may reach: HTTP and HTTPS (Caddy serves no HTTP/3, so no udp/443). */
export const WORLD_OPEN: { protocol: string; port: number }[] = [
  { protocol: "tcp", port: 80 },
  { protocol: "tcp", port: 443 },
];

interface Rule {
  where: string;
  protocol: string;
  from: number;
  to: number;
  cidrs: string[];
}

export function isWorld(cidr: string): boolean {
  return /\/0$/.test(cidr.trim());
}

/** RFC 1918 / unique-local ranges: inside a VPC or LAN, never reachable from the internet. */
export function isPrivate(cidr: string): boolean {
  const c = cidr.trim().toLowerCase();
  const m = /^(\d+)\.(\d+)\.\d+\.\d+\/(\d+)$/.exec(c);
  if (m) {
    const [a, b, prefix] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return (a === 10 && prefix >= 8) || (a === 172 && b >= 16 && b <= 31 && prefix >= 12) || (a === 192 && b === 168 && prefix >= 16);
  }
  return /^f[cd][0-9a-f]{2}:/.test(c) && Number(c.split("/")[1]) >= 7;
}

function protocolName(p: unknown): string | undefined {
  const s = str(p);
  if (s === undefined || isUnknown(s)) return undefined;
  const v = s.toLowerCase();
  if (v === "-1" || v === "all") return "all";
  if (v === "6") return "tcp";
  if (v === "17") return "udp";
  if (v === "1" || v === "58" || v === "icmpv6") return "icmp";
  return v;
}

function portsOf(protocol: string, from: unknown, to: unknown): [number, number] {
  if (protocol === "all") return [0, 65535];
  const f = num(from);
  const t = num(to);
  return [typeof f === "number" ? f : 0, typeof t === "number" ? t : typeof f === "number" ? f : 65535];
}

function cidrList(...values: unknown[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (typeof v === "string") out.push(v);
    else for (const x of asArray(v)) if (typeof x === "string") out.push(x);
  }
  return out;
}

function doPorts(range: unknown): [number, number] {
  const s = str(range);
  if (s === undefined || isUnknown(s) || s === "all" || s === "0") return [1, 65535];
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  if (!m) return [1, 65535];
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/** The CIDR-sourced ingress rules of a resource, in one shape. */
export function ingressRules(r: Res): Rule[] {
  const p = r.props;
  const rules: Rule[] = [];
  if (r.type === TYPES.securityGroup) {
    for (const [i, x] of asArray(p.ingress).entries()) {
      const rule = asRecord(x);
      const protocol = protocolName(rule.protocol);
      if (!protocol) continue;
      const [from, to] = portsOf(protocol, rule.fromPort, rule.toPort);
      rules.push({ where: `ingress[${i}]`, protocol, from, to, cidrs: cidrList(rule.cidrBlocks, rule.ipv6CidrBlocks) });
    }
  } else if (r.type === TYPES.securityGroupRule) {
    if (p.type !== "ingress") return rules;
    const protocol = protocolName(p.protocol);
    if (!protocol) return rules;
    const [from, to] = portsOf(protocol, p.fromPort, p.toPort);
    rules.push({ where: "rule", protocol, from, to, cidrs: cidrList(p.cidrBlocks, p.ipv6CidrBlocks) });
  } else if (r.type === TYPES.ingressRule) {
    const protocol = protocolName(p.ipProtocol);
    if (!protocol) return rules;
    const [from, to] = portsOf(protocol, p.fromPort, p.toPort);
    rules.push({ where: "rule", protocol, from, to, cidrs: cidrList(p.cidrIpv4, p.cidrIpv6) });
  } else if (r.type === TYPES.doFirewall) {
    for (const [i, x] of asArray(p.inboundRules).entries()) {
      const rule = asRecord(x);
      const protocol = protocolName(rule.protocol);
      if (!protocol) continue;
      const [from, to] = protocol === "icmp" ? [0, 0] : doPorts(rule.portRange);
      rules.push({ where: `inboundRules[${i}]`, protocol, from, to, cidrs: cidrList(rule.sourceAddresses) });
    }
  }
  return rules;
}

function describe(rule: Rule): string {
  const ports = rule.protocol === "icmp" ? "" : rule.from === rule.to ? ` port ${rule.from}` : ` ports ${rule.from}-${rule.to}`;
  return `${rule.where} (${rule.protocol}${ports})`;
}

export const ingressRestricted = definePolicy<IngressConfig>({
  name: "ingress-restricted",
  description:
    "Security groups and firewalls open only 80/443 to the world, SSH from public addresses only from the configured CIDRs, databases never to the world.",
  enforcementLevel: "mandatory",
  why: "An open database, Redis or SSH port is the shortest path to leaking every credential and reading; there is no business reason for it.",
  remediation:
    "From 0.0.0.0/0 or ::/0 allow only tcp/80 and tcp/443. Put operator addresses in doSshCidrs and the same list in sshCidrs of policy/config/<stack>.json. Reach databases and caches through security-group references, the VPC, or a database firewall rule of type droplet/tag.",
  types: Object.values(TYPES),
  configSchema: {
    properties: {
      sshCidrs: { type: "array", items: { type: "string" }, default: [] },
      allowWorldIcmp: { type: "boolean", default: false },
    },
  },
  defaults: { sshCidrs: [], allowWorldIcmp: false },
  validateResource: (r, cfg) => {
    const out: string[] = [];
    if (r.type === TYPES.doDatabaseFirewall) {
      for (const [i, x] of asArray(r.props.rules).entries()) {
        const rule = asRecord(x);
        if (rule.type === "ip_addr" && typeof rule.value === "string" && isWorld(rule.value))
          out.push(`rules[${i}] admits ${rule.value} to the database: the whole internet.`);
      }
      return out;
    }
    const allowedSsh = new Set(cfg.sshCidrs.map((c) => c.trim()));
    for (const rule of ingressRules(r)) {
      const coversSsh = (rule.protocol === "tcp" || rule.protocol === "all") && rule.from <= 22 && 22 <= rule.to;
      for (const cidr of rule.cidrs) {
        // SSH from a private range stays inside the VPC/LAN; from public addresses only the configured operators.
        if (coversSsh && !allowedSsh.has(cidr.trim()) && !isPrivate(cidr)) {
          out.push(
            isWorld(cidr)
              ? `${describe(rule)} opens SSH to the world (${cidr}).`
              : `${describe(rule)} allows SSH from ${cidr}, which is not in the configured sshCidrs [${[...allowedSsh].join(", ")}].`,
          );
          continue;
        }
        if (!isWorld(cidr) || coversSsh) continue;
        const webOnly = rule.from === rule.to && WORLD_OPEN.some((w) => w.protocol === rule.protocol && w.port === rule.from);
        const icmpOk = rule.protocol === "icmp" && cfg.allowWorldIcmp;
        if (!webOnly && !icmpOk) out.push(`${describe(rule)} is open to the world (${cidr}); only tcp/80 and tcp/443 may be.`);
      }
    }
    return out;
  },
});
