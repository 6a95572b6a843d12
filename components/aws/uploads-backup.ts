// The app's uploads (the assets bucket) backed up by AWS Backup, on the same
// schedule and retention as the database dumps: a daily recovery point of the
// whole bucket (AWS Backup for S3 needs versioning, which the bucket has) in a
// vault of its own, locked so no recovery point can be deleted before
// backupRetentionDays. The app's IAM user has no AWS Backup permission at all.
// An alarm mails the operator when a day passes without a completed job.
// Why AWS Backup rather than replication into the backups bucket: replication
// copies each object once and the backups bucket's lifecycle would then expire
// photos older than the retention; a recovery point is the whole bucket as of
// that day, kept for the retention, and restores to the bucket or a new one.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsCron } from "../../core/aws-schedule";
import { cloudName } from "../../core/naming";
import { metricAlarm } from "./metric-alarm";
import { AwsScope } from "./scope";

export const S3_BACKUP_POLICY_ARNS = [
  "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
  "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
] as const;

/** A large bucket's first recovery point can take hours: the job may run for a day before it counts as failed. */
export const UPLOADS_BACKUP_WINDOWS = { startWindow: 60, completionWindow: 1440 } as const;

/** The plan's one rule: backupSchedule (UTC, as AWS Backup reads cron), kept backupRetentionDays. */
export function uploadsBackupRule(vaultName: pulumi.Input<string>, schedule: string, retentionDays: number): aws.types.input.backup.PlanRule {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`backup retention must be a whole number of days, got ${retentionDays}`);
  return {
    ruleName: "daily",
    targetVaultName: vaultName,
    schedule: awsCron(schedule),
    ...UPLOADS_BACKUP_WINDOWS,
    lifecycle: { deleteAfter: retentionDays },
  };
}

/** Fewer than one completed uploads backup job in a day (no data = no job = breaching). */
export const UPLOADS_BACKUP_ALARM = {
  name: "backup-uploads-stale",
  description:
    "No AWS Backup job of the uploads bucket completed in the last 24 hours. Check: aws backup list-backup-jobs --by-backup-vault-name <vault> --region us-east-1.",
  namespace: "AWS/Backup",
  metricName: "NumberOfBackupJobsCompleted",
  statistic: "Sum" as const,
  period: 86400,
  evaluationPeriods: 1,
  threshold: 1,
  comparisonOperator: "LessThanThreshold" as const,
  treatMissingData: "breaching" as const,
};

export interface UploadsBackupInputs {
  /** The assets bucket (in ASSETS_REGION). */
  assetsBucket: aws.s3.Bucket;
  /** SNS topic in the bucket's region whose subscription is operatorEmail (createAlarms' usEast1Topic). */
  alarmTopic: aws.sns.Topic;
}

/**
 * Declares the vault (protected, locked), plan, selection, role and alarm on backupSchedule,
 * kept backupRetentionDays, with the assets bucket's provider: AWS Backup backs up a bucket
 * only from a vault in its own region.
 */
export function createUploadsBackup(scope: AwsScope, u: UploadsBackupInputs) {
  const { config, parent, assetsProvider } = scope;
  const args = {
    bucketArn: u.assetsBucket.arn,
    schedule: config.data.backupSchedule,
    retentionDays: config.data.backupRetentionDays,
    alarmTopicArn: u.alarmTopic.arn,
  };
  const o = (extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions => ({ parent, provider: assetsProvider, ...extra });
  const name = cloudName("uploads-backups", 50);
  const vault = new aws.backup.Vault("uploads", { name, forceDestroy: false }, o({ protect: true }));
  // Governance-mode lock (no changeableForDays): recovery points stay for the retention; only an
  // administrator who removes the lock first can delete one.
  new aws.backup.VaultLockConfiguration("uploads", { backupVaultName: vault.name, minRetentionDays: args.retentionDays }, o());
  const plan = new aws.backup.Plan("uploads", { name, rules: [uploadsBackupRule(vault.name, args.schedule, args.retentionDays)] }, o());
  const role = new aws.iam.Role(
    "uploads-backup",
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      description: "AWS Backup: back up and restore the FreshTrack uploads bucket",
    },
    o(),
  );
  const attachments = S3_BACKUP_POLICY_ARNS.map(
    (policyArn, i) => new aws.iam.RolePolicyAttachment(`uploads-backup-${i === 0 ? "backup" : "restore"}`, { role: role.name, policyArn }, o()),
  );
  const selection = new aws.backup.Selection(
    "uploads",
    { name: "uploads", planId: plan.id, iamRoleArn: role.arn, resources: [args.bucketArn] },
    o({ dependsOn: attachments }),
  );
  const a = UPLOADS_BACKUP_ALARM;
  metricAlarm({ ...a, dimensions: { ResourceType: "S3", BackupVaultName: vault.name } }, args.alarmTopicArn, o());
  return { vault, plan, selection };
}
