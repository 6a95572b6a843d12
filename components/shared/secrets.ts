// The customer's lasting secrets. They are created at program level, outside any
// target component, with logical names that do not mention the target, so that
// switching `target` keeps their URNs and values (TTN_ENCRYPTION_SALT must never
// change for a customer's whole life: it decrypts credentials stored in the DB).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DataSettings } from "../../core/config";

export interface LastingSecrets {
  /** Password of the app role `frostguard`. Alphanumeric, so it survives in DATABASE_URL. */
  dbAppPassword: pulumi.Output<string>;
  /** Password of the database superuser where we run PostgreSQL ourselves (vm) or own the master (aws). */
  dbAdminPassword: pulumi.Output<string>;
  redisPassword: pulumi.Output<string>;
  jwtSecret: pulumi.Output<string>;
  ttnEncryptionSalt: pulumi.Output<string>;
  grafanaAdminPassword: pulumi.Output<string>;
  /** Symmetric key the dumps are encrypted with before they leave the host. */
  backupEncryptionKey: pulumi.Output<string>;
  /** Static S3 credentials of the self-hosted object store (vm). */
  objectStoreAccessKey: pulumi.Output<string>;
  objectStoreSecretKey: pulumi.Output<string>;
}

/** Logical names of the lasting secrets; tests assert their URNs survive a target switch. */
export const LASTING_SECRET_NAMES = {
  dbAppPassword: "db-app-password",
  dbAdminPassword: "db-admin-password",
  redisPassword: "redis-password",
  jwtSecret: "jwt-secret",
  ttnEncryptionSalt: "ttn-encryption-salt",
  grafanaAdminPassword: "grafana-admin-password",
  backupEncryptionKey: "backup-encryption-key",
  objectStoreAccessKey: "object-store-access-key",
  objectStoreSecretKey: "object-store-secret-key",
} as const satisfies Record<keyof LastingSecrets, string>;

export function createLastingSecrets(data: DataSettings): LastingSecrets {
  // special: false keeps every value in [A-Za-z0-9]: nothing to URL-encode in
  // DATABASE_URL/REDIS_URL, nothing a shell or YAML could misread.
  const make = (key: keyof LastingSecrets, length: number, opts: { generation?: number; protect?: boolean } = {}) =>
    new random.RandomPassword(
      LASTING_SECRET_NAMES[key],
      {
        length,
        special: false,
        // Changing a keeper replaces the password: that is how a rotation is asked for.
        keepers: opts.generation === undefined ? undefined : { generation: String(opts.generation) },
      },
      // Losing these makes data unreadable; `pulumi destroy` must be told explicitly.
      { protect: opts.protect ?? false },
    ).result;

  return {
    dbAppPassword: make("dbAppPassword", 32, { generation: data.generations.dbPassword }),
    dbAdminPassword: make("dbAdminPassword", 32),
    redisPassword: make("redisPassword", 32, { generation: data.generations.redisPassword }),
    jwtSecret: make("jwtSecret", 64, { generation: data.generations.jwtSecret }),
    ttnEncryptionSalt: make("ttnEncryptionSalt", 32, { protect: true }),
    grafanaAdminPassword: make("grafanaAdminPassword", 24),
    backupEncryptionKey: make("backupEncryptionKey", 48, { protect: true }),
    objectStoreAccessKey: make("objectStoreAccessKey", 20),
    objectStoreSecretKey: make("objectStoreSecretKey", 40),
  };
}
