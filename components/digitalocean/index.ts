import * as pulumi from "@pulumi/pulumi";
import { DnsRecord, TargetArgs, TargetOutputs } from "../shared/target";

/** Skeleton: registers itself and its outputs; the target issue fills it in. */
export class DigitalOceanTarget extends pulumi.ComponentResource implements TargetOutputs {
  public readonly url: pulumi.Output<string>;
  public readonly hostAddress: pulumi.Output<string>;
  public readonly databaseEndpoint: pulumi.Output<string>;
  public readonly dnsRecords: pulumi.Output<DnsRecord[]>;

  constructor(name: string, args: TargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("freshtrack:digitalocean:Target", name, {}, opts);
    const { config } = args;
    this.url = pulumi.output(`https://${config.app.domain}`);
    this.hostAddress = pulumi.output("");
    this.databaseEndpoint = pulumi.output("");
    this.dnsRecords = pulumi.output([]);
    this.registerOutputs({ url: this.url, hostAddress: this.hostAddress, databaseEndpoint: this.databaseEndpoint, dnsRecords: this.dnsRecords });
  }
}
