// AWS Backup for the database when backupRetentionDays is beyond what RDS keeps
// (35 days): a daily snapshot on backupSchedule (UTC) into a protected vault,
// kept backupRetentionDays. Nothing is created below that retention.
import * as aws from "@pulumi/aws";
import { awsCron, needsAwsBackup } from "../../core/aws-schedule";
import { cloudName } from "../../core/naming";
import { backupAssumeRolePolicy } from "./iam-policies";
import { AwsScope } from "./scope";

export function createBackupPlan(scope: AwsScope, db: aws.rds.Instance): void {
  const { config } = scope;
  const o = scope.opts;
  if (!needsAwsBackup(config.data.backupRetentionDays)) return;
  // RDS stops at 35 days: AWS Backup keeps daily snapshots for the full retention, on backupSchedule (UTC).
  const vault = new aws.backup.Vault("db", { name: cloudName("db-backups", 50), forceDestroy: false }, o({ protect: true }));
  const plan = new aws.backup.Plan(
    "db",
    {
      name: cloudName("db-backups", 50),
      rules: [
        {
          ruleName: "daily",
          targetVaultName: vault.name,
          schedule: awsCron(config.data.backupSchedule),
          startWindow: 60,
          completionWindow: 600,
          lifecycle: { deleteAfter: config.data.backupRetentionDays },
        },
      ],
    },
    o(),
  );
  const backupRole = new aws.iam.Role(
    "db-backup",
    {
      assumeRolePolicy: JSON.stringify(backupAssumeRolePolicy()),
      description: "AWS Backup: snapshot the FreshTrack database",
    },
    o(),
  );
  const attach = new aws.iam.RolePolicyAttachment(
    "db-backup",
    { role: backupRole.name, policyArn: "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup" },
    o(),
  );
  new aws.backup.Selection("db", { name: "database", planId: plan.id, iamRoleArn: backupRole.arn, resources: [db.arn] }, o({ dependsOn: [attach] }));
}
