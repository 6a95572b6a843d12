// vm target: the customer's own Linux host, reached over SSH with a pinned host
// key. Everything runs there under Compose (PostgreSQL, PgBouncer, Valkey,
// SeaweedFS, Caddy, the app); the shared HostDeployment pushes the release.
import * as pulumi from "@pulumi/pulumi";
import { isHostname, isIPv4 } from "../../core/config";
import { HostDeployment, hostSecretFiles } from "../shared/host";
import { ImageDigests, imageDigestsArgs } from "../shared/image-digests";
import { DnsRecord, HostAccess, TargetArgs, TargetOutputs } from "../shared/target";

/** Bucket names on the host's object store: defined once, so the app, the backup job and the bucket creation cannot disagree. */
export const VM_BUCKETS = { assets: "frostguard-assets", backups: "frostguard-backups" } as const;
/** SeaweedFS's S3 gateway as the containers reach it. */
export const VM_OBJECTSTORE_INTERNAL = "http://objectstore:8333";
/** The app's S3 client signs for us-east-1 (docs/app-contract.md). */
export const VM_OBJECTSTORE_REGION = "us-east-1";
/** Superuser of the on-host PostgreSQL (the official image's default). */
export const VM_DB_ADMIN_USER = "postgres";

/** Records the operator must create at their DNS provider (we do not manage their zone). */
export function vmDnsRecords(domain: string, host: string): DnsRecord[] {
  const names = [
    { name: domain, purpose: "the app (Caddy gets its certificate for this name)" },
    { name: `s3.${domain}`, purpose: "object storage: presigned upload/download URLs are built from it" },
  ];
  if (isIPv4(host)) return names.map((n) => ({ type: "A", name: n.name, value: host, purpose: n.purpose }));
  if (host.includes(":")) return names.map((n) => ({ type: "AAAA", name: n.name, value: host, purpose: n.purpose }));
  if (isHostname(host.toLowerCase()) && host.toLowerCase() !== domain)
    return names.map((n) => ({ type: "CNAME", name: n.name, value: host.toLowerCase(), purpose: n.purpose }));
  return [];
}

export class VmTarget extends pulumi.ComponentResource implements TargetOutputs {
  public readonly url: pulumi.Output<string>;
  public readonly hostAddress: pulumi.Output<string>;
  public readonly databaseEndpoint: pulumi.Output<string>;
  public readonly dnsRecords: pulumi.Output<DnsRecord[]>;
  public readonly release: pulumi.Output<string>;
  public readonly hostAccess: HostAccess;

  constructor(name: string, args: TargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("freshtrack:vm:Target", name, {}, opts);
    const { config, secrets, userSecrets } = args;
    if (!config.vm) throw new Error("VmTarget needs the vm settings (target vm)");
    const vm = config.vm;
    const domain = config.app.domain;
    const privateKey = userSecrets.vmSshPrivateKey;
    if (!privateKey) throw new Error("VmTarget needs vmSshPrivateKey (config validation should have refused this stack)");

    // Every image the bundle runs, pinned to its registry digest (unless imageDigests is off).
    const images = new ImageDigests("image-registry", imageDigestsArgs(config, userSecrets), this);
    const bundle = images.bundle({
      config,
      target: "vm",
      // An address the operator connects to may be a NAT in front of the host: bin/preflight's DNS check accepts it.
      ...(isIPv4(vm.host) || vm.host.includes(":") ? { publicIp: vm.host } : {}),
      objectStore: {
        publicEndpoint: `https://s3.${domain}`,
        internalEndpoint: VM_OBJECTSTORE_INTERNAL,
        region: VM_OBJECTSTORE_REGION,
        assetsBucket: VM_BUCKETS.assets,
        backupsBucket: VM_BUCKETS.backups,
      },
    });

    const secretFiles = hostSecretFiles({
      target: "vm",
      args,
      db: { host: "postgres", port: 5432, adminUser: VM_DB_ADMIN_USER, adminPassword: secrets.dbAdminPassword, adminDatabase: "postgres" },
      objectStore: {
        endpoint: VM_OBJECTSTORE_INTERNAL,
        region: VM_OBJECTSTORE_REGION,
        accessKey: secrets.objectStoreAccessKey,
        secretKey: secrets.objectStoreSecretKey,
        provider: "SeaweedFS",
        buckets: VM_BUCKETS,
      },
      // Off-host remote (config vmBackupRemote*); its secret key is the user secret vmBackupRemoteSecretAccessKey.
      ...(vm.backupRemote ? { backupRemote: vm.backupRemote } : {}),
    });

    const deployment = new HostDeployment(
      "host",
      {
        connection: { host: vm.host, port: vm.port, user: vm.user, privateKey, hostKey: vm.hostKey },
        appDir: vm.appDir,
        bundle,
        secretFiles,
        // Customer hosts are often installed with cloud-init; where it is absent the step skips it.
        waitForCloudInit: true,
        firewall: vm.firewall,
        purgeOnDelete: vm.purgeOnDelete,
        url: `https://${domain}`,
      },
      { parent: this },
    );

    this.url = deployment.url;
    this.release = deployment.release;
    this.hostAccess = {
      host: vm.host,
      port: vm.port,
      user: vm.user,
      privateKey,
      hostKey: vm.hostKey,
      appDir: vm.appDir,
      ...(vm.egressAddress ? { egressAddress: vm.egressAddress } : {}),
    };
    this.hostAddress = pulumi.output(vm.host);
    this.databaseEndpoint = pulumi.output("postgres (on host, via pgbouncer)");
    this.dnsRecords = pulumi.output(vmDnsRecords(domain, vm.host));
    this.registerOutputs({
      url: this.url,
      hostAddress: this.hostAddress,
      databaseEndpoint: this.databaseEndpoint,
      dnsRecords: this.dnsRecords,
      release: this.release,
    });
  }
}
