// The push to the droplet: the release bundle (rendered for a managed database
// and Spaces) and the secret files, through the shared HostDeployment. The
// managed database's URIs and the Spaces keys reach the droplet only here,
// as secret files written over stdin: never in user_data or a command string.
import * as pulumi from "@pulumi/pulumi";
import { renderBundle } from "../../compose/bundle";
import { DB_CA_CLIENT_PATH, MANAGED_DB_SSLMODE } from "../../compose/render/pgbouncer";
import { DoSettings } from "../../core/config";
import { BootstrapParams, HostDeployment, SecretFiles, hostSecretFiles } from "../shared/host";
import { ImageDigests, imageDigestsArgs } from "../shared/image-digests";
import { TargetArgs } from "../shared/target";

/** The push connects as root on port 22 (DigitalOcean's default; the cloud firewall limits who reaches it). */
export const PUSH_USER = "root";
export const SSH_PORT = 22;
/** Direct connections (db-setup, migrate) verify the cluster's certificate and host name against its CA; the database DigitalOcean creates for doadmin. */
export const DO_DB_SSLMODE = MANAGED_DB_SSLMODE;
export const DO_ADMIN_DATABASE = "defaultdb";

export interface DropletDb {
  privateHost: pulumi.Output<string>;
  port: pulumi.Output<number>;
  adminUser: pulumi.Output<string>;
  adminPassword: pulumi.Output<string>;
  database: pulumi.Output<string>;
  appUser: pulumi.Output<string>;
  /** The cluster's CA certificate (PEM): PgBouncer verifies the server with it. */
  caCert: pulumi.Output<string>;
}

export interface SpacesCredential {
  accessKey: pulumi.Output<string>;
  secretKey: pulumi.Output<string>;
}

export interface DropletSpaces {
  /** The app's key: readwrite on the assets bucket only (app/MINIO_ROOT_*). */
  app: SpacesCredential;
  /** The backup job's key: the backups bucket (+ assets for the uploads copy), in backup/rclone.conf only. */
  backup: SpacesCredential;
  endpoint: string;
  region: string;
  assetsBucket: pulumi.Output<string>;
  backupsBucket: pulumi.Output<string>;
}

export interface PushInput {
  args: TargetArgs;
  settings: DoSettings;
  parent: pulumi.Resource;
  /** The reserved IP, once assigned to the droplet. */
  host: pulumi.Output<string>;
  privateKey: pulumi.Output<string>;
  /** "ssh-ed25519 AAAA…" of the host key installed by cloud-init. */
  hostPublicKey: pulumi.Output<string>;
  db: DropletDb;
  spaces: DropletSpaces;
  /** Ids of resources that must exist before the first deploy (firewalls, CORS, the database): data dependencies of the secret files. */
  readyIds: pulumi.Output<string>[];
  /** operators' non-root login, in the docker group */
  deployUser: string;
  /** The droplet's id: a rebuilt droplet (same reserved IP, same host key) gets every push step again. */
  dropletId: pulumi.Output<string>;
}

/** The release directory for this droplet: only non-secret values (host names, bucket names, sizes). */
export function dropletBundle(
  input: Pick<PushInput, "args" | "settings" | "db" | "spaces" | "host">,
  images?: ImageDigests,
): pulumi.Output<Record<string, string>> {
  const { args, settings, db, spaces } = input;
  // With `images`, every image the bundle runs is pinned to its registry digest.
  const render = (i: Parameters<typeof renderBundle>[0]) => (images ? images.bundle(i) : pulumi.output(renderBundle(i)));
  return pulumi
    .all([db.privateHost, db.port, db.database, spaces.assetsBucket, spaces.backupsBucket, input.host, db.caCert])
    .apply(([host, port, database, assetsBucket, backupsBucket, reservedIp, caCert]) =>
      render({
        config: args.config,
        target: "digitalocean",
        // The reserved IP is not on the droplet's interfaces: bin/preflight's DNS check accepts it.
        publicIp: reservedIp,
        managedDb: { host, port, database, maxConnections: settings.dbMaxConnections, caCert },
        objectStore: { publicEndpoint: spaces.endpoint, internalEndpoint: spaces.endpoint, region: spaces.region, assetsBucket, backupsBucket },
      }),
    );
}

/**
 * How the droplet is bootstrapped: cloud-init runs the shared bootstrap with these
 * arguments at first boot, and the push's bootstrap step runs it again with the same
 * ones (deployToDroplet builds its connection from this value).
 */
export function dropletBootstrap(settings: DoSettings, deployUser: string): BootstrapParams {
  // No host firewall: the DigitalOcean cloud firewall filters traffic; ufw would add nothing (Docker bypasses it).
  return { appDir: settings.appDir, firewall: false, sshPort: SSH_PORT, copyUser: PUSH_USER, deployUser };
}

/**
 * Every secret file, as one secret Output. The app role's password is the stack's
 * lasting `dbAppPassword` (bumped by dbPasswordGeneration), not the one DigitalOcean
 * generated for the DatabaseUser: db-setup sets it as doadmin, and bin/deploy's
 * zero-loss rotation (PgBouncer keeps both logins until the app has rolled) works
 * exactly as on vm. doadmin's password and the Spaces keys come from DigitalOcean.
 */
export function dropletSecretFiles(input: Pick<PushInput, "args" | "db" | "spaces" | "readyIds">): pulumi.Output<SecretFiles> {
  const { db, spaces } = input;
  const store = (key: SpacesCredential) => ({
    endpoint: spaces.endpoint,
    region: spaces.region,
    accessKey: key.accessKey,
    secretKey: key.secretKey,
    provider: "DigitalOcean" as const,
  });
  return hostSecretFiles({
    target: "digitalocean",
    args: input.args,
    db: {
      host: db.privateHost,
      port: db.port,
      sslmode: DO_DB_SSLMODE,
      sslrootcert: DB_CA_CLIENT_PATH,
      adminUser: db.adminUser,
      adminPassword: db.adminPassword,
      adminDatabase: DO_ADMIN_DATABASE,
    },
    objectStore: store(spaces.app),
    backupStore: store(spaces.backup),
    readyIds: input.readyIds,
  });
}

export function deployToDroplet(input: PushInput): HostDeployment {
  const boot = dropletBootstrap(input.settings, input.deployUser);
  return new HostDeployment(
    "host",
    {
      connection: { host: input.host, port: boot.sshPort, user: boot.copyUser, privateKey: pulumi.secret(input.privateKey), hostKey: input.hostPublicKey },
      appDir: boot.appDir,
      bundle: dropletBundle(input, new ImageDigests("image-registry", imageDigestsArgs(input.args.config, input.args.userSecrets), input.parent)),
      secretFiles: dropletSecretFiles(input),
      // cloud-init installs the host key and runs the bootstrap: the push starts after it.
      waitForCloudInit: true,
      firewall: boot.firewall,
      deployUser: boot.deployUser,
      purgeOnDelete: input.settings.purgeOnDelete,
      url: `https://${input.args.config.app.domain}`,
      hostIdentity: input.dropletId,
    },
    { parent: input.parent },
  );
}
