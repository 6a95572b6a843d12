// Secrets Manager: one secret per value the tasks read (the connection URLs built
// here, the stack's lasting secrets, the app's S3 key, each user credential set),
// and the private registry login ECS pulls with. Values never leave as plain text:
// tasks get ARNs (container `secrets`), the values stay Pulumi secrets.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { APP_SECRET_ENV } from "../../core/model";
import { DB_NAME, DB_USER } from "../../core/naming";
import { UserSecrets } from "../../core/load-config";
import { LastingSecrets } from "../shared/secrets";
import { databaseUrl, redisUrl, scramSha256Verifier } from "./connection-urls";
import { AwsScope } from "./scope";
import { USER_SECRET_ENV } from "./secret-map";

export interface RegistryLogin {
  server: string;
  secret: aws.secretsmanager.Secret;
  version: aws.secretsmanager.SecretVersion;
}

export interface AppSecrets {
  /** Secret ARN per env name. */
  arns: Record<string, pulumi.Output<string>>;
  /** Version ids of the app's secrets (APP_SECRET_ENV), in env-name order: they change when a value does. */
  appVersionIds: pulumi.Output<string>[];
  /** Every secret version, in env-name order: db-setup starts only when all exist. */
  versions: aws.secretsmanager.SecretVersion[];
  /** The version of APP_DB_PASSWORD_SCRAM: a new app password re-runs db-setup. */
  appPasswordVersion: aws.secretsmanager.SecretVersion;
  /** Absent without registryServer/registryUser/registryToken (public images). */
  registryLogin?: RegistryLogin;
}

/** What the secrets are built from: the stack's database and Redis hosts and the app's S3 key. */
export interface SecretSources {
  secrets: LastingSecrets;
  userSecrets: UserSecrets;
  dbAddress: pulumi.Output<string>;
  redisAddress: pulumi.Output<string>;
  assetsKey: aws.iam.AccessKey;
}

export function createSecrets(scope: AwsScope, src: SecretSources): AppSecrets {
  const { stack, config } = scope;
  const { secrets, userSecrets } = src;
  const o = scope.opts;
  const secretValues: Partial<Record<string, pulumi.Output<string>>> = {
    DATABASE_URL: pulumi.all([secrets.dbAppPassword, src.dbAddress]).apply(([pw, host]) => databaseUrl(DB_USER, pw, host, DB_NAME)),
    REDIS_URL: pulumi.all([secrets.redisPassword, src.redisAddress]).apply(([pw, host]) => redisUrl(pw, host)),
    JWT_SECRET: secrets.jwtSecret,
    TTN_ENCRYPTION_SALT: secrets.ttnEncryptionSalt,
    MINIO_ROOT_USER: src.assetsKey.id,
    MINIO_ROOT_PASSWORD: src.assetsKey.secret,
    // Only the db-setup task reads this: the role's SCRAM verifier, never the password itself.
    APP_DB_PASSWORD_SCRAM: secrets.dbAppPassword.apply((pw) => scramSha256Verifier(pw)),
  };
  for (const [env, key] of Object.entries(USER_SECRET_ENV)) {
    const v = userSecrets[key];
    if (v) secretValues[env] = v;
  }
  const arns: Record<string, pulumi.Output<string>> = {};
  const appVersionIds: pulumi.Output<string>[] = [];
  const versions: aws.secretsmanager.SecretVersion[] = [];
  const versionOf: Record<string, aws.secretsmanager.SecretVersion> = {};
  for (const env of Object.keys(secretValues).sort()) {
    const slug = env.toLowerCase().replace(/_/g, "-");
    const secret = new aws.secretsmanager.Secret(
      `secret-${slug}`,
      { namePrefix: `freshtrack/${stack}/${env}-`, description: `FreshTrack ${env} for stack ${stack}`, recoveryWindowInDays: 30 },
      o(),
    );
    const version = new aws.secretsmanager.SecretVersion(`secret-${slug}`, { secretId: secret.id, secretString: pulumi.secret(secretValues[env]!) }, o());
    arns[env] = secret.arn;
    versions.push(version);
    versionOf[env] = version;
    // The id ("arn|versionId") changes when the value does (a new value is a new version).
    if ((APP_SECRET_ENV as readonly string[]).includes(env)) appVersionIds.push(version.id);
  }

  // Private registry login for the image pulls: ECS reads it with the execution role
  // (repositoryCredentials), as {"username","password"}, the format ECS expects.
  let registryLogin: RegistryLogin | undefined;
  if (config.app.registry && userSecrets.registryToken) {
    const { server, user } = config.app.registry;
    const secret = new aws.secretsmanager.Secret(
      "registry-credentials",
      {
        namePrefix: `freshtrack/${stack}/registry-credentials-`,
        description: `FreshTrack image pulls from ${server} for stack ${stack}`,
        recoveryWindowInDays: 30,
      },
      o(),
    );
    const secretString = pulumi.secret(userSecrets.registryToken.apply((token) => JSON.stringify({ username: user, password: token })));
    registryLogin = { server, secret, version: new aws.secretsmanager.SecretVersion("registry-credentials", { secretId: secret.id, secretString }, o()) };
  }
  return { arns, appVersionIds, versions, appPasswordVersion: versionOf.APP_DB_PASSWORD_SCRAM, registryLogin };
}
