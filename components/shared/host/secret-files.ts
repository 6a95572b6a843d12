// The secret files a host target (vm, digitalocean) pushes, as one secret Output:
// the stack's lasting secrets and the user's credentials, plus the two things that
// differ per target (where the database and the object store are), rendered by
// compose/secret-files.ts. One builder, so the two targets cannot drift apart.
import * as pulumi from "@pulumi/pulumi";
import { SecretFiles, SecretFilesInput, renderSecretFiles } from "../../../compose/secret-files";
import { BackupRemote, USER_SECRET_KEYS, UserSecretKey } from "../../../core/config";
import { TargetArgs } from "../target";

/** Each field may be an Output (a managed cluster's host, a provider-generated key). */
type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export interface HostSecretFilesArgs {
  target: SecretFilesInput["target"];
  args: TargetArgs;
  /** PostgreSQL as db-setup, migrations and backups reach it directly. */
  db: Inputs<SecretFilesInput["db"]>;
  /** The S3 store and its keys (the app's MINIO_* files; the backup job's rclone remote when there is no backupStore). */
  objectStore: Inputs<SecretFilesInput["objectStore"]>;
  /** The backup job's own key for its rclone remote (digitalocean: a key the app never sees). */
  backupStore?: Inputs<NonNullable<SecretFilesInput["backupStore"]>>;
  /** vm: the remote off the host the backups go to; its secret key is the user secret vmBackupRemoteSecretAccessKey. */
  backupRemote?: BackupRemote;
  /** Resources that must exist before the files are written (data dependencies only, values unused). */
  readyIds?: pulumi.Input<string>[];
}

/** User secret keys that become files: the vm target's SSH key stays on the deploy machine. */
function hostUserSecretKeys(userSecrets: TargetArgs["userSecrets"]): UserSecretKey[] {
  return USER_SECRET_KEYS.filter((k) => k !== "vmSshPrivateKey" && userSecrets[k] !== undefined);
}

export function hostSecretFiles(input: HostSecretFilesArgs): pulumi.Output<SecretFiles> {
  const { secrets, userSecrets, config } = input.args;
  const userKeys = hostUserSecretKeys(userSecrets);
  const lasting = pulumi.all([
    secrets.dbAppPassword,
    secrets.redisPassword,
    secrets.jwtSecret,
    secrets.ttnEncryptionSalt,
    secrets.grafanaAdminPassword,
    secrets.backupEncryptionKey,
  ]);
  return pulumi.secret(
    pulumi
      .all([
        lasting,
        pulumi.all(userKeys.map((k) => userSecrets[k]!)),
        pulumi.output(input.db),
        pulumi.output(input.objectStore),
        input.backupStore === undefined ? pulumi.output(undefined) : pulumi.output(input.backupStore),
        pulumi.all(input.readyIds ?? []),
      ])
      .apply(
        ([[dbAppPassword, redisPassword, jwtSecret, ttnEncryptionSalt, grafanaAdminPassword, backupEncryptionKey], values, db, objectStore, backupStore]) => {
          const user = Object.fromEntries(userKeys.map((k, i) => [k, values[i]])) as Partial<Record<UserSecretKey, string>>;
          const remoteSecret = user.vmBackupRemoteSecretAccessKey;
          return renderSecretFiles({
            target: input.target,
            dbAppPassword,
            redisPassword,
            jwtSecret,
            ttnEncryptionSalt,
            grafanaAdminPassword,
            backupEncryptionKey,
            user,
            db,
            objectStore,
            ...(backupStore === undefined ? {} : { backupStore }),
            ...(input.backupRemote && remoteSecret !== undefined ? { backupRemote: { ...input.backupRemote, secretAccessKey: remoteSecret } } : {}),
            registry: config.app.registry,
          });
        },
      ),
  );
}
