// The ACM certificate of the app's domain, validated by DNS. With awsRoute53ZoneId
// the validation record and the alias `domain -> ALB` are created in that zone;
// without, the operator is told which record to create and `pulumi up` waits.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ValidationRecord, validationRecord } from "./dns-records";
import { AwsScope } from "./scope";

/** The app's alias record in the operator's Route 53 zone (awsRoute53ZoneId): a move leaves it to the operator (components/move). */
export const APP_RECORD = "app";

export interface Certificate {
  /** The certificate's ARN once ACM has issued it. */
  arn: pulumi.Output<string>;
  /** The record ACM validates the domain with (keep it: renewals use it). */
  validation: pulumi.Output<ValidationRecord>;
}

export function createCertificate(scope: AwsScope, alb: aws.lb.LoadBalancer): Certificate {
  const { cfg, parent } = scope;
  const app = scope.config.app;
  const o = scope.opts;
  const cert = new aws.acm.Certificate("cert", { domainName: app.domain, validationMethod: "DNS" }, o());
  const validation = cert.domainValidationOptions.apply((opts) => validationRecord(opts, app.domain));
  let certificateArn: pulumi.Output<string>;
  if (cfg.route53ZoneId) {
    const record = new aws.route53.Record(
      "cert-validation",
      { zoneId: cfg.route53ZoneId, name: validation.name, type: validation.type, records: [validation.value], ttl: 300, allowOverwrite: true },
      o(),
    );
    certificateArn = new aws.acm.CertificateValidation("cert", { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] }, o()).certificateArn;
    new aws.route53.Record(
      APP_RECORD,
      { zoneId: cfg.route53ZoneId, name: app.domain, type: "A", aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }] },
      o(),
    );
  } else {
    // No zone of ours: print the record now and wait (up to 2 h) while the operator creates it.
    // Only while ACM still waits: an issued certificate needs no reminder on every preview.
    pulumi.all([validation, cert.status]).apply(([v, status]) => {
      if (status !== "ISSUED")
        pulumi.log.warn(
          `Action needed: create DNS record ${v.type} ${v.name} -> ${v.value} so ACM can issue the certificate for ${app.domain}; pulumi up waits for it.`,
          parent,
        );
    });
    certificateArn = new aws.acm.CertificateValidation("cert", { certificateArn: cert.arn }, o({ customTimeouts: { create: "2h" } })).certificateArn;
  }
  return { arn: certificateArn, validation };
}
