// Firewall rules as plain data. Generic in the value type of the VPC range and
// the tag so the component can pass Outputs and tests plain strings.
import { isIP } from "net";
import { isCidr } from "../../core/config";
import { RESEND_SMTP } from "../../compose/render/observability/secrets";

export const WORLD = ["0.0.0.0/0", "::/0"];
/** Managed PostgreSQL listens on 25060 (direct) and 25061 (DO's own pooler, unused by us). */
export const DO_DB_PORT = 25060;

export interface InboundRule<V> {
  protocol: "tcp" | "udp" | "icmp";
  portRange?: string;
  sourceAddresses: V[];
}
export interface OutboundRule<V> {
  protocol: "tcp" | "udp" | "icmp";
  portRange?: string;
  destinationAddresses: V[];
}

export interface CloudFirewallInput<V> {
  /** Operators and the deploy machine: the only sources of SSH. */
  sshCidrs: string[];
  /** The VPC's IPv4 range: the managed database's private address lives there. */
  vpcIpRange: V;
  /** The other host of a move, which this droplet pulls data from over SSH (the new side's first copy, or a rollback's copy back). */
  movePullFrom?: { host: string; port: number };
  /** The other host of a move, which pulls data from this droplet over SSH (a rollback's copy back to the old host); `host`: its address or egress CIDR. */
  movePulledBy?: { host: string };
}

/** Where a move's pull may go: the old host's address, or (a host name, which a cloud firewall cannot hold) anywhere on that port. */
export function movePullDestinations(host: string): string[] {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) === 4) return [`${bare}/32`];
  if (isIP(bare) === 6) return [`${bare}/128`];
  return [...WORLD];
}

/**
 * Extra SSH sources during a rollback's copy back: the old host's address (/32, /128), or the
 * CIDR its connections leave from (vmEgressAddress, checked by config: never the world). A host
 * name cannot be held by a cloud firewall, and SSH is never opened to the world for it: none (the
 * old host must then be in doSshCidrs, docs/move.md).
 */
export function movePullSources(host: string): string[] {
  if (isCidr(host)) return [host];
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) === 4) return [`${bare}/32`];
  if (isIP(bare) === 6) return [`${bare}/128`];
  return [];
}

/**
 * The droplet's cloud firewall. Inbound: web (tcp 80, 443) to the world (Caddy serves
 * no HTTP/3, so no udp 443), SSH from the configured CIDRs only (and, during a rollback of a move to
 * this droplet, from the old host that copies the data back). Outbound: exactly
 * what the stack uses: DNS, NTP, HTTP(S) (apt, image registries, ACME, TTN,
 * Stripe, Resend, Telnyx, Sentry, Spaces, DO monitoring agent), Alertmanager's
 * mail to Resend's SMTP relay on its alternative STARTTLS port, the
 * database port inside the VPC and, during a move to this droplet, SSH to the
 * old host (the data pull). Anything not listed is dropped.
 */
export function cloudFirewallRules<V = string>(input: CloudFirewallInput<V>): { inbound: InboundRule<string | V>[]; outbound: OutboundRule<string | V>[] } {
  if (input.sshCidrs.length === 0) throw new Error("SSH must be reachable from at least one CIDR (doSshCidrs)");
  if (input.sshCidrs.some((c) => WORLD.includes(c))) throw new Error("SSH must not be open to the whole internet");
  return {
    inbound: [
      { protocol: "tcp", portRange: "80", sourceAddresses: [...WORLD] },
      { protocol: "tcp", portRange: "443", sourceAddresses: [...WORLD] },
      {
        protocol: "tcp",
        portRange: "22",
        sourceAddresses: [...new Set([...input.sshCidrs, ...(input.movePulledBy ? movePullSources(input.movePulledBy.host) : [])])],
      },
    ],
    outbound: [
      { protocol: "udp", portRange: "53", destinationAddresses: [...WORLD] },
      { protocol: "tcp", portRange: "53", destinationAddresses: [...WORLD] },
      { protocol: "udp", portRange: "123", destinationAddresses: [...WORLD] },
      { protocol: "tcp", portRange: "80", destinationAddresses: [...WORLD] },
      { protocol: "tcp", portRange: "443", destinationAddresses: [...WORLD] },
      // Alert mail: DigitalOcean blocks 25/465/587 from droplets; Resend also listens on 2587.
      { protocol: "tcp", portRange: String(RESEND_SMTP.port.digitalocean), destinationAddresses: [...WORLD] },
      // Path MTU discovery and diagnostics.
      { protocol: "icmp", destinationAddresses: [...WORLD] },
      { protocol: "tcp", portRange: String(DO_DB_PORT), destinationAddresses: [input.vpcIpRange] },
      ...(input.movePullFrom
        ? [{ protocol: "tcp" as const, portRange: String(input.movePullFrom.port), destinationAddresses: movePullDestinations(input.movePullFrom.host) }]
        : []),
    ],
  };
}

/** Trusted sources of the managed database: the droplets carrying our tag, nothing else (no IPs, no apps). */
export function databaseFirewallRules<V>(dropletTag: V): { type: "tag"; value: V }[] {
  return [{ type: "tag", value: dropletTag }];
}
