// Pure helpers for long-term RDS backups through AWS Backup: RDS itself keeps
// automated backups at most 35 days, HACCP customers may ask for more.

/** Days RDS keeps automated backups at most. */
export const RDS_MAX_BACKUP_DAYS = 35;

/**
 * The config's 5-field cron (`backupSchedule`, UTC) as an AWS cron expression:
 * `cron(min hour day-of-month month day-of-week year)`. AWS wants `?` in one of
 * the two day fields and numbers days of the week 1-7 from Sunday (cron: 0-7 from Sunday).
 */
export function awsCron(cron: string): string {
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) throw new Error(`"${cron}" is not a 5-field cron expression`);
  const [min, hour, dom, month] = f;
  let dow = f[4];
  if (dom !== "*" && dow !== "*") throw new Error(`"${cron}" restricts both day of month and day of week, which AWS schedules cannot express`);
  if (dow !== "*") {
    dow = dow.replace(/\d+/g, (d) => String((Number(d) % 7) + 1));
    return `cron(${min} ${hour} ? ${month} ${dow} *)`;
  }
  return `cron(${min} ${hour} ${dom} ${month} ? *)`;
}

/** AWS Backup only when RDS cannot keep the requested history itself (keeps the default stack lean). */
export function needsAwsBackup(backupRetentionDays: number): boolean {
  return backupRetentionDays > RDS_MAX_BACKUP_DAYS;
}
