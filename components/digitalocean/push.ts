// The push to the droplet: the release bundle (rendered for a managed database
// and Spaces) and the secret files, through the shared HostDeployment. The
// managed database's URIs and the Spaces keys reach the droplet only here,
// as secret files written over stdin: never in user_data or a command string.
import * as pulumi from "@pulumi/pulumi";
import { renderBundle } from "../../compose/bundle";
import { DB_CA_CLIENT_PATH, MANAGED_DB_SSLMODE } from "../../compose/render/pgbouncer";
import { DoSettings, USER_SECRET_KEYS, UserSecretKey } from "../../core/config";
import { HostDeployment, SecretFiles, hostScript, renderSecretFiles } from "../shared/host";
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

/** Arguments of the shared bootstrap script, as cloud-init and the push both run it. */
export function bootstrapArgs(settings: DoSettings, deployUser: string): string[] {
  // APP_DIR, no host firewall (the cloud firewall filters), SSH port, the copy user, the deploy user.
  return [settings.appDir, "false", String(SSH_PORT), PUSH_USER, deployUser];
}

export function bootstrapScript(): string {
  return hostScript("bootstrap");
}

/**
 * Every secret file, as one secret Output. The app role's password is the stack's
 * lasting `dbAppPassword` (bumped by dbPasswordGeneration), not the one DigitalOcean
 * generated for the DatabaseUser: db-setup sets it as doadmin, and bin/deploy's
 * zero-loss rotation (PgBouncer keeps both logins until the app has rolled) works
 * exactly as on vm. doadmin's password and the Spaces keys come from DigitalOcean.
 */
export function dropletSecretFiles(input: Pick<PushInput, "args" | "db" | "spaces" | "readyIds">): pulumi.Output<SecretFiles> {
  const { args, db, spaces } = input;
  const { secrets, userSecrets } = args;
  // The SSH key of the vm target is not a file on this host.
  const userKeys = USER_SECRET_KEYS.filter((k) => k !== "vmSshPrivateKey" && userSecrets[k] !== undefined);
  const userValues = pulumi.all(userKeys.map((k) => userSecrets[k]!));
  const lasting = pulumi.all([
    secrets.dbAppPassword,
    secrets.redisPassword,
    secrets.jwtSecret,
    secrets.ttnEncryptionSalt,
    secrets.grafanaAdminPassword,
    secrets.backupEncryptionKey,
  ]);
  const dbValues = pulumi.all([db.privateHost, db.port, db.adminUser, db.adminPassword]);
  const spacesValues = pulumi.all([spaces.app.accessKey, spaces.app.secretKey, spaces.backup.accessKey, spaces.backup.secretKey]);
  return pulumi.secret(
    pulumi
      .all([lasting, userValues, dbValues, spacesValues, pulumi.all(input.readyIds)])
      .apply(
        ([
          [appPassword, redis, jwt, salt, grafana, backupKey],
          values,
          [host, port, adminUser, adminPassword],
          [accessKey, secretKey, backupAccessKey, backupSecretKey],
        ]) =>
          renderSecretFiles({
            target: "digitalocean",
            dbAppPassword: appPassword,
            redisPassword: redis,
            jwtSecret: jwt,
            ttnEncryptionSalt: salt,
            grafanaAdminPassword: grafana,
            backupEncryptionKey: backupKey,
            user: Object.fromEntries(userKeys.map((k, i) => [k, values[i]])) as Partial<Record<UserSecretKey, string>>,
            db: { host, port, sslmode: DO_DB_SSLMODE, sslrootcert: DB_CA_CLIENT_PATH, adminUser, adminPassword, adminDatabase: DO_ADMIN_DATABASE },
            objectStore: { endpoint: spaces.endpoint, region: spaces.region, accessKey, secretKey, provider: "DigitalOcean" },
            backupStore: { endpoint: spaces.endpoint, region: spaces.region, accessKey: backupAccessKey, secretKey: backupSecretKey, provider: "DigitalOcean" },
            registry: args.config.app.registry,
          }),
      ),
  );
}

export function deployToDroplet(input: PushInput): HostDeployment {
  return new HostDeployment(
    "host",
    {
      connection: { host: input.host, port: SSH_PORT, user: PUSH_USER, privateKey: pulumi.secret(input.privateKey), hostKey: input.hostPublicKey },
      appDir: input.settings.appDir,
      bundle: dropletBundle(input, new ImageDigests("image-registry", imageDigestsArgs(input.args.config, input.args.userSecrets), input.parent)),
      secretFiles: dropletSecretFiles(input),
      // cloud-init installs the host key and runs the bootstrap: the push starts after it.
      waitForCloudInit: true,
      // The DigitalOcean cloud firewall filters traffic; ufw would add nothing (Docker bypasses it).
      firewall: false,
      deployUser: input.deployUser,
      purgeOnDelete: input.settings.purgeOnDelete,
      url: `https://${input.args.config.app.domain}`,
      hostIdentity: input.dropletId,
    },
    { parent: input.parent },
  );
}
