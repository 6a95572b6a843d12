// e2e: the backup schedule a deploy installs, run exactly as cron runs it. After scenario 1's
// deploy, /etc/cron.d/freshtrack-backup must exist on the host; every entry is parsed as
// cron parses a /etc/cron.d file (VAR=value lines, then "m h dom mon dow user command")
// and its command run as cron would: as the named user, `$SHELL -c command`, with only
// cron's environment (env -i: the file's SHELL and PATH, HOME, LOGNAME, USER). The effect
// is checked on the host: a fresh encrypted dump and manifest in the backups bucket, a
// restore check that matched the row counts, and the freshness metrics the textfile
// collector reads (APP_DIR/metrics/*.prom). Then a manifest changed in the bucket must be
// refused by bin/restore (the age-sealed copy differs).
import { rcloneAsBackup, rclonePutStdin } from "../lib/backup-rclone";
import type { HostRun } from "../harness";

export interface BackupScheduleDeps {
  appDir: string;
  /** A command on the test host over the deploy's SSH connection (as root). */
  host: (cmd: string) => Promise<HostRun>;
  /** Figures recorded so far are reported even when a check fails. */
  record: (fig: Record<string, unknown>) => void;
}

export const CRON_FILE = "/etc/cron.d/freshtrack-backup";

export interface CronEntry {
  schedule: string;
  user: string;
  command: string;
}

/** A /etc/cron.d file: environment assignments and entries with a user field (crontab(5)). */
export function parseCronD(text: string): { env: Record<string, string>; entries: CronEntry[] } {
  const env: Record<string, string> = {};
  const entries: CronEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (assign) {
      env[assign[1]] = assign[2].replace(/^(['"])(.*)\1$/, "$2");
      continue;
    }
    const m = /^(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new Error(`not a cron.d line: ${line}`);
    entries.push({ schedule: m[1], user: m[2], command: m[3] });
  }
  return { env, entries };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The shell command that runs one entry as cron would: as its user, only cron's environment. */
export function asCronWould(entry: CronEntry, env: Record<string, string>): string {
  const shell = env.SHELL ?? "/bin/sh";
  const vars = { PATH: "/usr/bin:/bin", ...env, SHELL: shell };
  const assigns = Object.entries(vars).map(([k, v]) => `${k}=$(echo ${b64(v)} | base64 -d)`);
  return [
    `u=$(echo ${b64(entry.user)} | base64 -d)`,
    `home=$(getent passwd "$u" | cut -d: -f6)`,
    `cmd=$(echo ${b64(entry.command)} | base64 -d)`,
    // runuser: the entry's user, no login shell; env -i: nothing of this SSH session's environment.
    `runuser -u "$u" -- env -i HOME="$home" LOGNAME="$u" USER="$u" ${assigns.map((a) => `"${a}"`).join(" ")} "$(echo ${b64(shell)} | base64 -d)" -c "$cmd"`,
  ].join("; ");
}

function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function backupSchedule(d: BackupScheduleDeps): Promise<Record<string, unknown>> {
  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  const cat = await d.host(`cat ${CRON_FILE}`);
  if (cat.code !== 0) fail(`${CRON_FILE} does not exist after the deploy: ${cat.stderr.trim()}`);
  const { env, entries } = parseCronD(cat.stdout);
  d.record({ cron_file: cat.stdout.split("\n").filter((l) => l && !l.startsWith("#")) });
  const backup = entries.find((e) => / \S+\/current\/bin\/backup\b/.test(` ${e.command}`));
  const verify = entries.find((e) => /\/current\/bin\/restore --check\b/.test(e.command));
  if (!backup || !verify) fail(`${CRON_FILE} lacks the backup or the restore-check entry`);
  // rclone as bin/backup runs it ($base: the backups place, $uploads: the app's bucket).
  const rcl = (args: string) => rcloneAsBackup(d.appDir, args);
  // An upload of the app (binary, every byte value), in the app's bucket before the backup runs.
  const upload = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256));
  const UPLOAD_KEY = "e2e-org/sensor-photos/cooler-1.jpg";
  const put = await d.host(`echo ${upload.toString("base64")} | base64 -d | ` + rclonePutStdin(d.appDir, `"$uploads/${UPLOAD_KEY}"`));
  if (put.code !== 0) fail(`cannot put an upload into the app's bucket: ${put.stderr}`);
  const before = await d.host(`date +%s`);
  const t0 = Number(before.stdout.trim());

  // Backup first, then the restore check (which restores the newest backup): the file's order.
  const runs: Record<string, { exit: number; seconds: number }> = {};
  for (const [name, e] of [
    ["backup", backup!],
    ["restore_check", verify!],
  ] as const) {
    const r = await d.host(asCronWould(e, env));
    runs[name] = { exit: r.code, seconds: Number(r.seconds.toFixed(1)) };
    d.record({ runs });
    if (r.code !== 0) {
      const log = await d.host(`tail -n 30 ${d.appDir}/state/${name === "backup" ? "backup" : "restore-check"}.log`);
      fail(`the cron entry "${e.command}" exited ${r.code} under cron's environment:\n${log.stdout}${r.stderr}`);
    }
  }

  // The freshness metrics, as node-exporter's textfile collector reads them.
  const prom = await d.host(`cat ${d.appDir}/metrics/backup.prom ${d.appDir}/metrics/restore_check.prom`);
  const backupTs = metric(prom.stdout, "freshtrack_backup_last_success_timestamp_seconds");
  const size = metric(prom.stdout, "freshtrack_backup_last_size_bytes");
  const checkTs = metric(prom.stdout, "freshtrack_restore_check_last_success_timestamp_seconds");
  d.record({
    metrics: {
      backup_age_s: backupTs === undefined ? null : backupTs - t0,
      size_bytes: size,
      restore_check_age_s: checkTs === undefined ? null : checkTs - t0,
    },
  });
  if (!(backupTs !== undefined && backupTs >= t0)) fail(`backup.prom was not refreshed by the cron run (${backupTs} < ${t0})`);
  if (!(size !== undefined && size > 0)) fail("backup.prom has no dump size");
  if (!(checkTs !== undefined && checkTs >= t0)) fail(`restore_check.prom was not refreshed by the cron run (${checkTs} < ${t0})`);

  // The dump itself: the newest backup in the bucket, its manifest, and ciphertext only.
  const audit = await d.host(`grep '"action":"backup"' ${d.appDir}/state/audit.log | tail -n1`);
  const last = JSON.parse(audit.stdout.trim() || "{}") as { result?: string; backup?: string };
  if (last.result !== "success" || !last.backup) fail(`no successful backup in the audit log: ${audit.stdout}`);
  const manifest = await d.host(rcl(`cat "$base/${last.backup}.manifest.json"`));
  if (manifest.code !== 0) fail(`manifest of ${last.backup} not in the bucket: ${manifest.stderr}`);
  const m = JSON.parse(manifest.stdout) as {
    dump: string;
    tables: Record<string, number>;
    size_bytes: number;
    encryption: string;
    created: string;
    uploads?: { objects: number; bytes: number };
  };
  const head = await d.host(rcl(`cat "$base/${m.dump}"`) + " | head -c 21");
  const plain = await d.host(rcl(`cat "$base/${m.dump}"`) + " | grep -c -a -e 'COPY public' -e 'PGDMP' || true");
  d.record({
    dump: {
      name: last.backup,
      object: m.dump,
      bytes: m.size_bytes,
      tables: Object.keys(m.tables).length,
      readings: m.tables["public.sensor_readings"],
      encryption: m.encryption,
      header: head.stdout,
      plaintext_markers: Number(plain.stdout.trim()),
    },
  });
  if (!(m.tables["public.sensor_readings"] >= 1)) fail(`the dump's manifest counts ${m.tables["public.sensor_readings"]} readings`);
  if (head.stdout !== "age-encryption.org/v1") fail(`the uploaded dump is not an age file (starts with ${JSON.stringify(head.stdout)})`);
  if (Number(plain.stdout.trim()) !== 0) fail("the uploaded dump holds plaintext pg_dump markers");
  if (m.size_bytes !== size) fail(`the manifest says ${m.size_bytes} bytes, the metric ${size}`);

  // A tampered manifest (row counts changed in the bucket) is refused by the restore check.
  const forged = JSON.stringify({ ...JSON.parse(manifest.stdout), tables: { ...m.tables, "public.sensor_readings": 0 } });
  const putManifest = async (text: string) => {
    const r = await d.host(`echo ${b64(text)} | base64 -d | ` + rclonePutStdin(d.appDir, `"$base/${last.backup}.manifest.json"`));
    if (r.code !== 0) fail(`cannot write the manifest back: ${r.stderr}`);
  };
  await putManifest(forged);
  let tampered: HostRun;
  try {
    tampered = await d.host(`${d.appDir}/current/bin/restore --check --dump ${last.backup}`);
  } finally {
    await putManifest(manifest.stdout);
  }
  d.record({ tampered_manifest: { exit: tampered.code, message: tampered.stderr.split("\n").find((l) => /ERROR/.test(l)) ?? "" } });
  if (tampered.code === 0) fail("bin/restore --check accepted a tampered manifest");
  if (!/differs from its sealed copy/.test(tampered.stderr)) fail(`tampered manifest refused for another reason: ${tampered.stderr.slice(-500)}`);

  // The uploads went with the database: counted in the manifest, and restorable byte for byte.
  d.record({ uploads_in_manifest: m.uploads ?? null });
  if (!m.uploads || m.uploads.objects < 1 || m.uploads.bytes < upload.length) fail(`the manifest does not count the uploads: ${JSON.stringify(m.uploads)}`);
  const gone = await d.host(rcl(`deletefile "$uploads/${UPLOAD_KEY}"`));
  if (gone.code !== 0) fail(`cannot delete the upload: ${gone.stderr}`);
  const restoreUploads = await d.host(`${d.appDir}/current/bin/restore --uploads --dump ${last.backup}`);
  if (restoreUploads.code !== 0) fail(`bin/restore --uploads failed: ${restoreUploads.stderr.slice(-800)}`);
  const back = await d.host(rcl(`cat "$uploads/${UPLOAD_KEY}"`) + " | base64 -w0");
  const identical = Buffer.from(back.stdout.trim(), "base64").equals(upload);
  d.record({ uploads_restore: { seconds: Number(restoreUploads.seconds.toFixed(1)), bytes_identical: identical } });
  if (!identical) fail("the restored upload differs from the original");

  return {
    tampered_manifest_refused: true,
    uploads: m.uploads,
    upload_restored_identical: true,
    cron_entries: entries.map((e) => `${e.schedule} ${e.user} ${e.command.split(" ")[1] ?? e.command}`),
    runs,
    dump: last.backup,
    dump_bytes: m.size_bytes,
    tables: Object.keys(m.tables).length,
    readings_in_dump: m.tables["public.sensor_readings"],
    encryption: m.encryption,
    metrics_fresh: true,
    restore_check_matched: true,
  };
}
