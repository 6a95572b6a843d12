// Pure: the DNS records of the AWS target — ACM's validation record, picked from
// the certificate's validation options, and the records the operator is shown
// (created for them when awsRoute53ZoneId is set).
import { DnsRecord } from "../shared/target";

export interface ValidationRecord {
  name: string;
  type: string;
  value: string;
}

/** ACM's validation record for `domain` (the first option if none names it). */
export function validationRecord(
  options: { domainName: string; resourceRecordName: string; resourceRecordType: string; resourceRecordValue: string }[],
  domain: string,
): ValidationRecord {
  const v = options.find((x) => x.domainName === domain) ?? options[0];
  return { name: v.resourceRecordName, type: v.resourceRecordType, value: v.resourceRecordValue };
}

/** The stack output `dnsRecords`: the validation record and the app's name -> the ALB. */
export function dnsRecordOutputs(validation: ValidationRecord, albDnsName: string, domain: string, route53Zone: boolean): DnsRecord[] {
  return [
    {
      type: "CNAME",
      name: validation.name,
      value: validation.value,
      purpose: route53Zone ? "ACM certificate validation (created in Route 53)" : "ACM certificate validation: create it, keep it (renewals)",
    },
    {
      type: "CNAME",
      name: domain,
      value: albDnsName,
      purpose: route53Zone
        ? "the app -> ALB (created in Route 53 as an alias A record)"
        : "the app -> ALB (at a zone apex use your DNS provider's ALIAS/ANAME)",
    },
  ];
}
