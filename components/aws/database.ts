// RDS PostgreSQL in the isolated subnets: TLS forced, encrypted, deletion
// protection, a final snapshot, automated backups for up to 35 days. The master
// password is created and rotated by RDS in Secrets Manager; the app has its own
// role (created by the db-setup task, migrations.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RDS_MAX_BACKUP_DAYS } from "../../core/aws-schedule";
import { DB_NAME, cloudName } from "../../core/naming";
import { MASTER_USERNAME } from "./constants";
import { Network } from "./network";
import { RDS_CA_IDENTIFIER } from "./rds-ca";
import { AwsScope } from "./scope";
import { SecurityGroups } from "./security-groups";

export interface Database {
  db: aws.rds.Instance;
  /** The RDS-managed secret holding the master user's password. */
  masterSecretArn: pulumi.Output<string>;
}

export function createDatabase(scope: AwsScope, network: Network, groups: SecurityGroups): Database {
  const { cfg, config } = scope;
  const o = scope.opts;
  const dbSubnets = new aws.rds.SubnetGroup("db", { subnetIds: network.isolatedSubnets.map((s) => s.id) }, o());
  const dbParams = new aws.rds.ParameterGroup(
    "db",
    {
      family: `postgres${cfg.dbEngineVersion}`,
      description: "FreshTrack: TLS only, max_connections from config",
      parameters: [
        { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
        { name: "max_connections", value: String(config.data.dbMaxConnections), applyMethod: "pending-reboot" },
      ],
    },
    o(),
  );
  const dbIdentifier = cloudName("db");
  // Declared here so the exported PostgreSQL log has a retention (RDS would create it with none).
  const dbLogGroup = new aws.cloudwatch.LogGroup(
    "logs-postgresql",
    { name: `/aws/rds/instance/${dbIdentifier}/postgresql`, retentionInDays: cfg.logRetentionDays },
    o(),
  );
  const db = new aws.rds.Instance(
    "db",
    {
      identifier: dbIdentifier,
      engine: "postgres",
      engineVersion: cfg.dbEngineVersion, // major only: AWS picks the minor, autoMinorVersionUpgrade keeps it patched
      instanceClass: cfg.dbInstanceClass,
      allocatedStorage: cfg.dbAllocatedStorageGb,
      // Storage autoscaling: a full disk refuses readings; growth is billed only when used.
      maxAllocatedStorage: Math.min(1000, cfg.dbAllocatedStorageGb * 5),
      storageType: "gp3",
      storageEncrypted: true,
      dbName: DB_NAME,
      username: MASTER_USERNAME,
      manageMasterUserPassword: true,
      dbSubnetGroupName: dbSubnets.name,
      vpcSecurityGroupIds: [groups.db.id],
      parameterGroupName: dbParams.name,
      publiclyAccessible: false,
      multiAz: false,
      backupRetentionPeriod: Math.min(config.data.backupRetentionDays, RDS_MAX_BACKUP_DAYS),
      backupWindow: "03:00-04:00",
      maintenanceWindow: "sun:04:30-sun:05:30",
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${dbIdentifier}-final`,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      caCertIdentifier: RDS_CA_IDENTIFIER,
      enabledCloudwatchLogsExports: ["postgresql"],
      applyImmediately: false,
    },
    o({ protect: true, dependsOn: [dbLogGroup] }),
  );
  const masterSecretArn = db.masterUserSecrets.apply((s) => {
    if (!s?.[0]?.secretArn) throw new Error("RDS returned no master user secret");
    return s[0].secretArn;
  });
  return { db, masterSecretArn };
}
