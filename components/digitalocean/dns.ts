// DNS for the DigitalOcean target: the app's A record points at the reserved IP,
// which survives a droplet rebuild, so DNS never has to change afterwards.
// Grafana and the other observability UIs are reached over an SSH tunnel, not a
// public host name, so the app domain is the only record.
import { DnsRecord } from "../shared/target";

export const DNS_TTL_SECONDS = 300;

/** Name of `fqdn` relative to `zone` ("@" for the apex), as DigitalOcean DNS records take it. */
export function relativeName(fqdn: string, zone: string): string {
  const f = fqdn.toLowerCase().replace(/\.$/, "");
  const z = zone.toLowerCase().replace(/\.$/, "");
  if (f === z) return "@";
  if (!f.endsWith(`.${z}`)) throw new Error(`${fqdn} is not inside the zone ${zone}`);
  return f.slice(0, -(z.length + 1));
}

export interface DnsInput<V = string> {
  domain: string;
  /** DigitalOcean DNS zone when we manage the records; empty otherwise. */
  zone: string;
  manageDns: boolean;
  reservedIp: V;
}

export interface ManagedRecord<V = string> {
  /** Pulumi resource name suffix. */
  key: string;
  zone: string;
  name: string;
  type: "A";
  value: V;
  ttl: number;
}

/** Records to create in DigitalOcean DNS (empty unless manageDns). Generic so the component can pass the IP as an Output. */
export function managedDnsRecords<V>(input: DnsInput<V>): ManagedRecord<V>[] {
  if (!input.manageDns) return [];
  return [{ key: "app-a", zone: input.zone, name: relativeName(input.domain, input.zone), type: "A", value: input.reservedIp, ttl: DNS_TTL_SECONDS }];
}

/** What the stack output `dnsRecords` says: the records that must exist, and who creates them. */
export function dnsRecordOutputs(input: DnsInput): DnsRecord[] {
  const who = input.manageDns
    ? `created by Pulumi in the DigitalOcean zone ${input.zone}`
    : `create it at your DNS provider (TTL ${DNS_TTL_SECONDS}s) before the first deploy: Caddy needs it to obtain the TLS certificate`;
  return [{ type: "A", name: input.domain, value: input.reservedIp, purpose: `The app (web, API, TTN webhooks) at the droplet's reserved IP; ${who}` }];
}
