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
  /** A move's other host, which pulls this side's data over SSH (a rollback's copy back): a droplet's firewall must let it in. `host`: where its connections come from (its address, or its vmEgressAddress). */
  movePulledBy?: { host: string };
  /**
   * aws as a move's new side, in this phase. prepare, cutover: its backend and worker are created
   * with 0 tasks and left to the move, which scales them once the final import succeeded; the push
   * key and the import task exist. rollback: backend and worker go to 0 tasks (a released side).
   * copy-back (a rollback after cutover that copies this side's data back to the old host): they
   * are left to the move, whose freeze stops them once every request goes to the old host.
   */
  moveIncoming?: "prepare" | "cutover" | "rollback" | "copy-back";
}

/** aws as a move's new side: where the old host pushes its data and how the import runs (components/move). */
export interface MoveImportAccess {
  /** Secret: the JSON `bin/move-export --push-s3` reads on stdin (a key that may only write the move's objects). */
  pushCredential: pulumi.Output<string>;
  /** Environment of the local run-task wrapper (ids and ARNs only). */
  runTask: pulumi.Output<Record<string, string>>;
  /** Environment of the scale step: region, cluster and `name=count` of the services the import unblocks. */
  scale: pulumi.Output<Record<string, string>>;
}

/** aws as a move's OLD side: how its data leaves and how its load balancer reaches the new host (components/move). */
export interface MoveExportAccess {
  /** Secret: the JSON `bin/move-import --from-s3` reads on stdin (a key that may only read the move's objects and the uploads). */
  pullCredential: pulumi.Output<string>;
  /** Environment of the local run-task wrapper that runs the export task (ids and ARNs only). */
  runTask: pulumi.Output<Record<string, string>>;
}

export interface MoveSourceArgs {
  /** The host that takes over: where the forwarder sends what reaches the load balancer (a move's new host; a copy back's old one). */
  newAddress: pulumi.Input<string>;
  /** The export task and the new host's read key (prepare, cutover; gone at retire). */
  exportData: boolean;
  /** The forwarder behind the load balancer (prepare to retire; gone at rollback). */
  forwarder: boolean;
  /** The push key and the import task (a rollback's copy back: the new host pushes its writes back). */
  importData?: boolean;
}

export interface MoveSource {
  exportAccess?: MoveExportAccess;
  /** Environment of the freeze and unfreeze steps: region, cluster and `name=count` of the old side's backend and worker. */
  freeze: pulumi.Output<Record<string, string>>;
  /** The forwarder's service (steady once created), with `forwarder`: a step may wait for it. */
  forwarder?: pulumi.Resource;
  /** With `importData`: where the new host pushes its writes back, and the import task. */
  importAccess?: MoveImportAccess;
  /** The every-request rule, for the steps that turn it on (the freeze) or off (an undo, a copy back's end): region, the HTTPS listener, the rule's priority. */
  forwardOff: pulumi.Output<Record<string, string>>;
  /**
   * Declares the listener rules to the forwarder (needs `forwarder`), after `after`: "acme" sends
   * ACME challenges only (the new host gets its certificate), "all" every request (cutover on).
   */
  forwardRules(which: "acme" | "all", after: pulumi.Resource[]): pulumi.Resource[];
}

/** Declares an aws old side's move resources under `parent` (the move component), with its providers. */
export type MoveSourceFactory = (parent: pulumi.ComponentResource, args: MoveSourceArgs) => MoveSource;

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
   * droplet reached through its reserved IP dials out from its own public IPv4; a vm behind a
   * NAT, vmEgressAddress / moveVmEgressAddress, an IP or CIDR): the other side of a move
   * authorizes the pull from this address.
   */
  egressAddress?: pulumi.Input<string>;
}

/** What every target exports; index.ts turns these into stack outputs. */
export interface TargetOutputs {
  /** Absent on aws (no host: ECS tasks). */
  hostAccess?: HostAccess;
  /** aws only, while it is a move's new side in prepare or cutover. */
  moveImport?: MoveImportAccess;
  /** aws only: declares what a move off this side needs, under the move component (nothing of this side changes). */
  moveSource?: MoveSourceFactory;
  url: pulumi.Output<string>;
  hostAddress: pulumi.Output<string>;
  databaseEndpoint: pulumi.Output<string>;
  dnsRecords: pulumi.Output<DnsRecord[]>;
}
