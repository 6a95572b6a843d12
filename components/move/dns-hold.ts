// The old side's own DNS record during a move (doManageDns, awsRoute53ZoneId). The operator
// lowers its TTL and points it at the new side by hand, when moveStatus.dns says so; the
// program must then neither put it back (a `pulumi up --refresh` would see the change and undo
// it) nor delete it when the move is finished (it then serves the new side). Options, not
// inputs: the old side's resources keep their inputs.
import * as pulumi from "@pulumi/pulumi";
import { APP_RECORD } from "../aws/certificate";

/** Per resource type: which records are the app's, and the fields the operator changes. */
const APP_RECORDS: Record<string, { isApp: (name: string) => boolean; fields: string[] }> = {
  // The droplet's only managed record is the app's A record (components/digitalocean/dns.ts).
  "digitalocean:index/dnsRecord:DnsRecord": { isApp: () => true, fields: ["value", "ttl"] },
  // An alias to the load balancer becomes an A record to the new host: type, records and TTL change too.
  "aws:route53/record:Record": { isApp: (name) => name === APP_RECORD, fields: ["aliases", "records", "ttl", "type"] },
};

/** From prepare on the record's value and TTL are the operator's; from retire on it also outlives the old side. */
export function dnsLeftToOperator(retain: boolean): pulumi.ResourceTransformation {
  return (a) => {
    const rec = APP_RECORDS[a.type];
    if (!rec?.isApp(a.name)) return undefined;
    const ignoreChanges = [...(a.opts.ignoreChanges ?? []), ...rec.fields];
    return { props: a.props, opts: { ...a.opts, ignoreChanges, ...(retain ? { retainOnDelete: true } : {}) } };
  };
}
