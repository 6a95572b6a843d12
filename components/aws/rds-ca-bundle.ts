// The region's RDS root CAs as a stack value (rds-ca.ts holds the pure parts): one
// local command on the deploy machine downloads AWS's global bundle; its output is
// kept in the stack state and changes only when RDS_CA_BUNDLE_URL, the region or
// the instance's certificate authority does. Every client verifies RDS with it.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsScope } from "./scope";
import { RDS_CA_BUNDLE_URL, RDS_CA_IDENTIFIER, rdsCaFetchScript, regionalRdsCa } from "./rds-ca";

/** The root CAs of the stack's region (PEM), checked by regionalRdsCa. */
export function createRdsCa(scope: AwsScope): pulumi.Output<string> {
  const { cfg, parent } = scope;
  return new command.local.Command(
    "rds-ca-bundle",
    {
      interpreter: ["/bin/bash", "-c"],
      create: rdsCaFetchScript(),
      environment: { RDS_CA_BUNDLE_URL },
      triggers: [RDS_CA_BUNDLE_URL, cfg.region, RDS_CA_IDENTIFIER],
    },
    { parent },
  ).stdout.apply((pem) => regionalRdsCa(pem, cfg.region, RDS_CA_IDENTIFIER));
}
