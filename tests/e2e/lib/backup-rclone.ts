// rclone as bin/backup runs it on a host under test: the release's rclone image on its Compose
// network, with the shipped secrets/backup/rclone.conf (or another rclone.conf on the host, such
// as one with the app's own credential). The e2e reads and writes the backups and the app's
// bucket only through it, so it sees exactly what the host's backup job sees.

/**
 * One shell line (a `{ …; }` group: stdin reaches rclone) that runs `rclone ARGS` as bin/backup
 * does, after setting from the current release.json:
 * - `$base`: the backups place, `<remote>:<bucket>/<prefix>`;
 * - `$uploads`: the app's bucket, through the host store's admin section on vm (the backup job's
 *   own section may only read it), else the backup remote.
 */
export function rcloneAsBackup(appDir: string, args: string, conf = `${appDir}/secrets/backup/rclone.conf`): string {
  return (
    `{ rel=${appDir}/current/release.json; base="$(jq -r '.backup | "\\(.remote):\\(.bucket)/\\(.prefix)"' "$rel")"; ` +
    `uploads="$(jq -r '.backup | "\\(.admin_remote // .remote):\\(.uploads.bucket)"' "$rel")"; ` +
    `docker run --rm -i --network "$(jq -r .database.network "$rel")" -v ${conf}:/config/rclone/rclone.conf:ro "$(jq -r .images.rclone "$rel")" --config /config/rclone/rclone.conf ${args}; }`
  );
}

/** One shell line that writes its stdin to DEST (an rclone path; `$base` and `$uploads` as above) as rcloneAsBackup's rclone. */
export function rclonePutStdin(appDir: string, dest: string, conf?: string): string {
  return rcloneAsBackup(appDir, `rcat ${dest}`, conf);
}

/** rclone's arguments that list the backups in `$base` (one manifest per backup, as bin/restore picks them). */
export const LIST_BACKUPS = `lsf --include 'frostguard-*.manifest.json' "$base"`;

/** The backups' names (`frostguard-<UTC>`) in LIST_BACKUPS' output, oldest first: the newest is last. */
export function backupNames(lsf: string): string[] {
  return lsf
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/\.manifest\.json$/, ""))
    .sort();
}
