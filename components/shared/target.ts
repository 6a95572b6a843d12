// The contract between index.ts and each target component.
import * as pulumi from "@pulumi/pulumi";
import { FreshtrackConfig } from "../../core/config";
import { UserSecrets } from "../../core/load-config";
import { LastingSecrets } from "./secrets";

export interface TargetArgs {
  config: FreshtrackConfig;
  secrets: LastingSecrets;
  userSecrets: UserSecrets;
  /** A move's other host, which this side pulls the data from over SSH (a droplet's firewall must let that out). */
  movePullFrom?: { host: string; port: number };
  /** A move's other host, which pulls this side's data over SSH (a rollback's copy back): a droplet's firewall must let it in. */
  movePulledBy?: { host: string };
}

/** A DNS record the operator must create (or that we created, when the zone is ours). */
export interface DnsRecord {
  type: "A" | "AAAA" | "CNAME" | "TXT";
  name: string;
  value: string;
  purpose: string;
}

/** SSH access to the host that runs the Compose stack (vm, digitalocean): the move's data path uses it. */
export interface HostAccess {
  host: pulumi.Input<string>;
  port: number;
  user: string;
  /** Secret. */
  privateKey: pulumi.Input<string>;
  /** "TYPE BASE64". */
  hostKey: pulumi.Input<string>;
  appDir: string;
  /**
   * The address this host's own outbound connections come from, when it is not `host` (a
   * droplet reached through its reserved IP dials out from its own public IPv4): the old side
   * of a move authorizes the pull from this address.
   */
  egressAddress?: pulumi.Input<string>;
}

/** What every target exports; index.ts turns these into stack outputs. */
export interface TargetOutputs {
  /** Absent on aws (no host: ECS tasks). */
  hostAccess?: HostAccess;
  url: pulumi.Output<string>;
  hostAddress: pulumi.Output<string>;
  databaseEndpoint: pulumi.Output<string>;
  dnsRecords: pulumi.Output<DnsRecord[]>;
}
