// The DigitalOcean target: one droplet running the Compose stack (pushed over
// SSH by the shared HostDeployment), a managed PostgreSQL cluster reached over
// the VPC through our own PgBouncer on the droplet, Spaces for assets and
// dumps, a reserved IP for DNS, cloud and database firewalls, and DO Monitoring
// alerts. See docs/digitalocean.md for the reasoning behind each choice.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { DoSettings } from "../../core/config";
import { DB_NAME, DB_USER, baseTags, cloudName } from "../../core/naming";
import { bootstrapArgs, hostScript } from "../shared/host";
import { DnsRecord, HostAccess, TargetArgs, TargetOutputs } from "../shared/target";
import { alertPolicies, alertRecipients } from "./alerts";
import { renderCloudInit } from "./cloud-init";
import { dnsRecordOutputs, managedDnsRecords } from "./dns";
import { cloudFirewallRules, databaseFirewallRules } from "./firewall";
import { placementKeepers, placementProblems } from "./placement";
import { PUSH_USER, SSH_PORT, deployToDroplet, dropletBootstrap } from "./push";
import { doTags } from "./tags";
import { appKeyGrants, assetsCors, assetsLifecycle, backupKeyGrants, backupsLifecycle, spacesEndpoint, spacesRegion } from "./spaces";
import { uptimeAlerts, uptimeCheck } from "./uptime";

/** Operators' non-root login on the droplet (docker group). The push itself connects as root. */
export const DEPLOY_USER = "deploy";
/** Weekly maintenance of the managed database (UTC), away from the nightly dump at 03:17. */
export const DB_MAINTENANCE = { day: "sunday", hour: "05:00" };
/** Droplet backup window start (UTC); DigitalOcean accepts 0, 4, 8, 12, 16, 20. */
export const DROPLET_BACKUP_HOUR = 4;

export class DigitalOceanTarget extends pulumi.ComponentResource implements TargetOutputs {
  public readonly url: pulumi.Output<string>;
  public readonly hostAddress: pulumi.Output<string>;
  public readonly databaseEndpoint: pulumi.Output<string>;
  public readonly dnsRecords: pulumi.Output<DnsRecord[]>;
  /** Release id on the droplet (bundle + secret digests). */
  public readonly release: pulumi.Output<string>;
  /** SSH to the droplet as the push does (a move's data path). */
  public readonly hostAccess: HostAccess;

  constructor(name: string, args: TargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("freshtrack:digitalocean:Target", name, {}, opts);
    const { config } = args;
    const settings: DoSettings | undefined = config.digitalocean;
    if (!settings) throw new Error("DigitalOceanTarget needs the digitalocean settings (config target: digitalocean)");
    const parent = { parent: this };
    const stackTags = doTags(baseTags("digitalocean"));

    // --- placement guard: refuse a region change before any regional resource is declared ---
    const placement = new random.RandomId(
      "do-placement",
      { byteLength: 4, keepers: placementKeepers({ region: settings.region }) },
      { ...parent, ignoreChanges: ["keepers"] },
    );
    const region = placement.keepers.apply((recorded) => {
      const problem = placementProblems(recorded, { region: settings.region });
      if (problem) throw new pulumi.RunError(problem);
      return settings.region;
    });

    // --- network ---
    const appTag = new digitalocean.Tag("app-tag", { name: cloudName("app") }, parent);
    // The database lives in this VPC: replacing it would mean a new cluster; protect refuses that.
    const vpc = new digitalocean.Vpc(
      "vpc",
      { name: cloudName("vpc"), region, description: `FreshTrack ${pulumi.getStack()}: droplet and managed PostgreSQL` },
      { ...parent, protect: true },
    );

    // --- managed PostgreSQL ---
    const db = new digitalocean.DatabaseCluster(
      "db",
      {
        name: cloudName("db"),
        engine: "pg",
        version: settings.dbVersion,
        size: settings.dbSize,
        region,
        nodeCount: 1,
        privateNetworkUuid: vpc.id,
        maintenanceWindows: [DB_MAINTENANCE],
        // A full disk refuses every reading; growing costs money only when it happens.
        storageAutoscale: { enabled: true, thresholdPercent: 80, incrementGib: 10 },
        tags: stackTags,
      },
      // Deleting the cluster deletes its backups too. region/privateNetworkUuid are
      // guarded by the placement check; ignoring them is a second line of defence.
      { ...parent, protect: true, ignoreChanges: ["region", "privateNetworkUuid"] },
    );
    const database = new digitalocean.DatabaseDb("db-frostguard", { clusterId: db.id, name: DB_NAME }, { ...parent, protect: true });
    // The app role is not doadmin. DigitalOcean generates a password for it, which we do
    // not use: db-setup sets the stack's own (dbPasswordGeneration rotates it) and grants it the database.
    const appUser = new digitalocean.DatabaseUser("db-user-frostguard", { clusterId: db.id, name: DB_USER }, parent);
    const dbFirewall = new digitalocean.DatabaseFirewall("db-firewall", { clusterId: db.id, rules: databaseFirewallRules(appTag.name) }, parent);

    // --- keys: the push's client key and the droplet's host key, both generated here ---
    const deployKey = new tls.PrivateKey("deploy-key", { algorithm: "ED25519" }, parent);
    const hostKey = new tls.PrivateKey("droplet-host-key", { algorithm: "ED25519" }, parent);
    const doSshKey = new digitalocean.SshKey(
      "deploy-ssh-key",
      { name: cloudName("deploy"), publicKey: deployKey.publicKeyOpenssh.apply((k) => k.trim()) },
      parent,
    );
    const hostPublicKey = hostKey.publicKeyOpenssh.apply((k) => k.trim().split(/\s+/).slice(0, 2).join(" "));

    // user_data: bootstrap only, no app secret, nothing per release. The host private
    // key is the one accepted exposure (threat model in docs/digitalocean.md).
    const userData = pulumi.secret(
      pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, deployKey.publicKeyOpenssh]).apply(([priv, pub, deployPub]) =>
        renderCloudInit({
          deployUser: DEPLOY_USER,
          deployAuthorizedKeys: [deployPub],
          hostKey: { privateKeyOpenssh: priv, publicKeyOpenssh: pub },
          bootstrap: { script: hostScript("bootstrap"), args: bootstrapArgs(dropletBootstrap(settings, DEPLOY_USER)) },
        }),
      ),
    );

    const backups = settings.dropletBackups !== "off";
    const droplet = new digitalocean.Droplet(
      "droplet",
      {
        name: cloudName("app"),
        region,
        size: settings.dropletSize,
        image: settings.dropletImage,
        vpcUuid: vpc.id,
        monitoring: true,
        ipv6: false,
        gracefulShutdown: true,
        sshKeys: [doSshKey.fingerprint, ...settings.sshKeyFingerprints],
        tags: [appTag.name, ...stackTags],
        userData,
        backups,
        ...(backups
          ? { backupPolicy: { plan: settings.dropletBackups, hour: DROPLET_BACKUP_HOUR, ...(settings.dropletBackups === "weekly" ? { weekday: "SUN" } : {}) } }
          : {}),
      },
      // DigitalOcean applies user_data, SSH keys and the image only by rebuilding the droplet.
      // Everything that changes after creation travels with the push instead; a rebuild is an
      // explicit `pulumi up --replace` (docs/digitalocean.md).
      { ...parent, ignoreChanges: ["userData", "sshKeys", "image"] },
    );

    // --- public address: survives a droplet rebuild, so DNS never changes ---
    const reservedIp = new digitalocean.ReservedIp("reserved-ip", { region }, parent);
    const assignment = new digitalocean.ReservedIpAssignment(
      "reserved-ip-assignment",
      { ipAddress: reservedIp.ipAddress, dropletId: droplet.id.apply((id) => Number(id)) },
      parent,
    );

    const rules = cloudFirewallRules({
      sshCidrs: settings.sshCidrs,
      vpcIpRange: vpc.ipRange,
      movePullFrom: args.movePullFrom,
      movePulledBy: args.movePulledBy,
    });
    const firewall = new digitalocean.Firewall(
      "firewall",
      { name: cloudName("app"), tags: [appTag.name], inboundRules: rules.inbound, outboundRules: rules.outbound },
      parent,
    );

    // --- Spaces ---
    const bucketRegion = spacesRegion(settings.region);
    const bucketArgs = (suffix: string, lifecycle: ReturnType<typeof assetsLifecycle>) => ({
      name: cloudName(suffix),
      region: region.apply(spacesRegion),
      acl: "private",
      forceDestroy: false,
      lifecycleRules: lifecycle,
    });
    // Customer uploads and database dumps: deleting either bucket loses data.
    const assets = new digitalocean.SpacesBucket("assets", bucketArgs("assets", assetsLifecycle()), { ...parent, protect: true });
    // Versioned: a delete or overwrite through the backup key leaves the previous version for backupRetentionDays.
    const backupsBucket = new digitalocean.SpacesBucket(
      "backups",
      { ...bucketArgs("backups", backupsLifecycle(config.data.backupRetentionDays)), versioning: { enabled: true } },
      { ...parent, protect: true },
    );
    const cors = new digitalocean.SpacesBucketCorsConfiguration(
      "assets-cors",
      { bucket: assets.name, region: region.apply(spacesRegion), corsRules: assetsCors(config.app.domain) },
      parent,
    );
    // Two keys, nothing else in the account: the app's (its own bucket only) and the backup job's.
    // New logical names (the shared `spaces-key` of earlier releases is gone from the program):
    // Pulumi creates these, the push writes them to the host and deploys, and only then, at the
    // end of the update, deletes the old key. A failed push leaves it in place for the running
    // release. Replacing either key later is create-before-delete in the same way.
    const keyOptions = { ...parent, deleteBeforeReplace: false };
    const appSpacesKey = new digitalocean.SpacesKey("app-spaces-key", { name: cloudName("app-assets"), grants: appKeyGrants(assets.name) }, keyOptions);
    const backupSpacesKey = new digitalocean.SpacesKey(
      "backup-spaces-key",
      { name: cloudName("backup-spaces"), grants: backupKeyGrants(assets.name, backupsBucket.name) },
      keyOptions,
    );

    // --- project: the resources DigitalOcean lets a project hold ---
    const project = new digitalocean.Project(
      "project",
      {
        name: `FreshTrack ${pulumi.getStack()}`,
        purpose: "Web Application",
        environment: "Production",
        description: `FreshTrack Pro for ${config.app.domain}`,
      },
      parent,
    );
    new digitalocean.ProjectResources(
      "project-resources",
      { project: project.id, resources: [droplet.dropletUrn, db.clusterUrn, assets.bucketUrn, backupsBucket.bucketUrn, reservedIp.reservedIpUrn] },
      parent,
    );

    // --- DNS ---
    const dnsInput = <V>(ip: V) => ({ domain: config.app.domain, zone: settings.dnsZone, manageDns: settings.manageDns, reservedIp: ip });
    for (const rec of managedDnsRecords(dnsInput(reservedIp.ipAddress))) {
      new digitalocean.DnsRecord(`dns-${rec.key}`, { domain: rec.zone, name: rec.name, type: rec.type, value: rec.value, ttl: rec.ttl }, parent);
    }

    // --- alerts (DigitalOcean Monitoring, outside the host) ---
    const recipients = alertRecipients(config.app.operatorEmail, args.userSecrets.alertWebhookUrl);
    for (const policy of alertPolicies()) {
      new digitalocean.MonitorAlert(
        `alert-${policy.name}`,
        {
          alerts: recipients,
          type: policy.type,
          compare: policy.compare,
          value: policy.value,
          window: policy.window,
          description: policy.description,
          enabled: true,
          entities: [policy.scope === "droplet" ? droplet.id : db.id],
        },
        parent,
      );
    }

    // --- external uptime check of the public health URL (DigitalOcean's probes, outside the droplet) ---
    const check = uptimeCheck(config.app.domain, cloudName("health"));
    const uptime = new digitalocean.UptimeCheck(
      "uptime",
      { name: check.name, type: check.type, target: check.target, regions: check.regions, enabled: true },
      parent,
    );
    for (const a of uptimeAlerts(config.app.tlsMode)) {
      new digitalocean.UptimeAlert(
        `uptime-${a.name}`,
        {
          checkId: uptime.id,
          name: `${check.name} ${a.name}`,
          type: a.type,
          period: a.period,
          threshold: a.threshold,
          comparison: a.comparison,
          notifications: [recipients],
        },
        parent,
      );
    }

    // --- the push: bundle + secret files over SSH to the reserved IP ---
    const deployment = deployToDroplet({
      args,
      settings,
      parent: this,
      host: assignment.ipAddress,
      privateKey: deployKey.privateKeyOpenssh,
      hostPublicKey,
      db: {
        privateHost: db.privateHost,
        port: db.port,
        adminUser: db.user,
        adminPassword: db.password,
        database: database.name,
        appUser: appUser.name,
        caCert: digitalocean.getDatabaseCaOutput({ clusterId: db.id }, { parent: this }).certificate,
      },
      spaces: {
        app: { accessKey: appSpacesKey.accessKey, secretKey: appSpacesKey.secretKey },
        backup: { accessKey: backupSpacesKey.accessKey, secretKey: backupSpacesKey.secretKey },
        endpoint: spacesEndpoint(settings.region),
        region: bucketRegion,
        assetsBucket: assets.name,
        backupsBucket: backupsBucket.name,
      },
      // The DatabaseUser first: created after db-setup made the role, DigitalOcean would refuse it.
      readyIds: [dbFirewall.id, firewall.id, cors.id, database.id, appUser.id],
      deployUser: DEPLOY_USER,
      dropletId: droplet.id,
    });

    this.url = deployment.url;
    this.release = deployment.release;
    this.hostAccess = {
      host: assignment.ipAddress,
      port: SSH_PORT,
      // As the push: the move's steps run bin/* as root, and the deploy user has no sudo.
      user: PUSH_USER,
      privateKey: deployKey.privateKeyOpenssh,
      hostKey: hostPublicKey,
      appDir: settings.appDir,
      // Outbound traffic leaves from the droplet's own public IPv4, not the reserved IP.
      egressAddress: droplet.ipv4Address,
    };
    this.hostAddress = reservedIp.ipAddress;
    this.databaseEndpoint = pulumi.interpolate`${db.privateHost}:${db.port}`;
    this.dnsRecords = reservedIp.ipAddress.apply((ip) => dnsRecordOutputs(dnsInput(ip)));
    this.registerOutputs({
      url: this.url,
      hostAddress: this.hostAddress,
      databaseEndpoint: this.databaseEndpoint,
      dnsRecords: this.dnsRecords,
      release: this.release,
    });
  }
}
