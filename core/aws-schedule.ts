// Pure helpers for long-term RDS backups through AWS Backup: RDS itself keeps
// automated backups at most 35 days, HACCP customers may ask for more.

/** Days RDS keeps automated backups at most. */
export const RDS_MAX_BACKUP_DAYS = 35;

/** [lowest, highest] value of each cron field: minute, hour, day of month, month, day of week (7 = Sunday). */
const CRON_LIMITS: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** Every value a cron field selects, sorted; throws on a field cron itself would refuse. */
export function cronFieldValues(field: string, index: number): number[] {
  const [lo, hi] = CRON_LIMITS[index];
  const out = new Set<number>();
  for (const part of field.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a cron field value`);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    // "*" is the whole range; "N/S" runs from N to the end of the range (cronie, Vixie cron).
    const from = m[1] === "*" ? lo : Number(m[2]);
    const to = m[1] === "*" ? hi : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from;
    if (step < 1 || from < lo || to > hi || from > to) throw new Error(`"${part}" is outside ${lo}-${hi} or runs backwards`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The config's 5-field cron (`backupSchedule`, UTC) as an AWS Backup cron expression:
 * `cron(min hour day-of-month month day-of-week year)`. Every field is translated
 * from the set of values cron selects (never by rewriting its text, so steps and
 * ranges keep their meaning): AWS wants `?` in one of the two day fields and
 * numbers days of the week 1-7 from Sunday (cron: 0-7 from Sunday). Throws, with
 * the reason, for what an AWS Backup rule cannot express: both day fields
 * restricted (cron runs on either, AWS has no "or") and more than one run per
 * hour (AWS Backup's shortest interval is one hour).
 */
export function awsCron(cron: string): string {
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) throw new Error(`"${cron}" is not a 5-field cron expression`);
  const values = f.map((field, i) => cronFieldValues(field, i));
  const dows = [...new Set(values[4].map((d) => d % 7))].sort((a, b) => a - b);
  const full = (i: number, vs: number[]) => vs.length === CRON_LIMITS[i][1] - CRON_LIMITS[i][0] + 1;
  const list = (i: number) => (full(i, values[i]) ? "*" : values[i].join(","));
  if (values[0].length !== 1) throw new Error(`"${cron}" runs more than once an hour (minute field "${f[0]}"); AWS Backup runs at most hourly`);
  const domRestricted = !full(2, values[2]);
  const dowRestricted = dows.length !== 7;
  if (domRestricted && dowRestricted) throw new Error(`"${cron}" restricts both day of month and day of week, which AWS schedules cannot express`);
  const [min, hour, , month] = [String(values[0][0]), list(1), "", list(3)];
  if (dowRestricted) return `cron(${min} ${hour} ? ${month} ${dows.map((d) => d + 1).join(",")} *)`;
  return `cron(${min} ${hour} ${list(2)} ${month} ? *)`;
}

/** AWS Backup only when RDS cannot keep the requested history itself (keeps the default stack lean). */
export function needsAwsBackup(backupRetentionDays: number): boolean {
  return backupRetentionDays > RDS_MAX_BACKUP_DAYS;
}
