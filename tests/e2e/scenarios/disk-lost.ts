// e2e: the host's disk is lost, the backups are not. The stack backs up (database and
// uploads) to a SECOND S3 server standing in for the operator's storage off the host; the
// app's own credentials cannot delete or overwrite a backup, on the host's store nor on
// the remote; a tampered dump in the remote is refused. Then every volume of the project
// and APP_DIR are removed (a new disk), the program's steps deploy again onto the empty
// host, and bin/restore from the remote brings back identical per-table row counts and
// identical object bytes.
import { createHash } from "crypto";
import { LIST_BACKUPS, backupNames, rcloneAsBackup, rclonePutStdin } from "../lib/backup-rclone";
import type { HostRun } from "../harness";

export interface DiskLostDeps {
  appDir: string;
  host: (cmd: string) => Promise<HostRun>;
  /** SQL on the project's PostgreSQL (as its superuser), tuples only. */
  psql: (sql: string) => string;
  /** Removes every container, volume and network of the project (`compose down -v` and more). */
  purgeProject: () => void;
  /** The program's steps onto a host that has none of their effects (a fresh applier state). */
  redeploy: () => Promise<{ steps: number; seconds: number }>;
  /** Waits for the new stack to answer through Caddy (new CA: the old one was on the lost disk). */
  waitServing: () => Promise<number>;
  record: (fig: Record<string, unknown>) => void;
  check: (cond: boolean, msg: string) => void;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Two uploads of the app: binary (every byte value) and text, under nested keys. */
const UPLOADS: Record<string, Buffer> = {
  "e2e-org/photos/freezer-2.jpg": Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 131 + 7) % 256)),
  "e2e-org/haccp/2026-12-01.csv": Buffer.from("time,unit,celsius\n2026-12-01T03:00:00Z,freezer-2,-18.4\n"),
};

export async function diskLost(d: DiskLostDeps): Promise<Record<string, unknown>> {
  const rel = `${d.appDir}/current/release.json`;
  // rclone as bin/backup runs it; `conf` is an rclone.conf on the host (the shipped one, or the test's app-credential one).
  const rcl = (args: string, conf?: string) => rcloneAsBackup(d.appDir, args, conf);
  const j = async (q: string) => (await d.host(`jq -r '${q}' ${rel}`)).stdout.trim();
  const remote = await j(".backup.remote");
  const base = `${remote}:${await j(".backup.bucket")}/${await j(".backup.prefix")}`;
  const admin = await j(".backup.admin_remote");
  const store = await j(".backup.store_remote");
  const assets = await j(".backup.uploads.bucket");
  const hostBackups = (await j('.buckets | map(select(. != "' + assets + '")) | .[0]')) || "frostguard-backups";
  d.record({ release_backup: { remote: base, offhost: await j(".backup.offhost"), prune: await j(".backup.prune") } });
  d.check((await j(".backup.offhost")) === "true", "the e2e stack's backups are not configured off the host");

  // 1. Uploads in the app's bucket, then one backup (the newest: what the new host restores).
  for (const [key, bytes] of Object.entries(UPLOADS)) {
    const put = await d.host(`echo ${bytes.toString("base64")} | base64 -d | ${rclonePutStdin(d.appDir, `"${admin}:${assets}/${key}"`)}`);
    d.check(put.code === 0, `cannot put ${key} into the app's bucket: ${put.stderr}`);
  }
  const backup = await d.host(`${d.appDir}/current/bin/backup`);
  d.check(backup.code === 0, `bin/backup failed: ${backup.stderr.slice(-1500)}`);
  const name = backup.stdout.trim().split("\n").pop() ?? "";
  d.check(/^frostguard-\d{8}T\d{6}Z$/.test(name), `bin/backup printed no backup name: ${backup.stdout}`);
  const manifest = JSON.parse((await d.host(rcl(`cat "${base}/${name}.manifest.json"`))).stdout || "{}") as {
    tables: Record<string, number>;
    uploads: { objects: number; bytes: number };
    sha256: string;
  };
  const tables = Object.keys(manifest.tables ?? {}).sort();
  d.check(tables.length > 0, `no manifest for ${name} in the remote ${base}`);
  const countRows = () => Object.fromEntries(tables.map((t) => [t, Number(d.psql(`SELECT count(*) FROM ${t}`))]));
  // Key order differs between the manifest (dump order) and ours: compare table by table.
  const same = (a: Record<string, number>, b: Record<string, number>) =>
    Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((t) => a[t] === b[t]);
  const inDump = Object.fromEntries(tables.map((t) => [t, manifest.tables[t]]));
  const before = countRows();
  d.record({
    backup: { name, seconds: Number(backup.seconds.toFixed(1)), in: base, uploads: manifest.uploads },
    rows_in_dump: inDump,
    live_rows_equal_dump: same(before, inDump),
  });
  d.check(inDump["public.sensor_readings"] >= 1, "no readings to lose: scenario 1 stores one");
  const onHostStore = await d.host(rcl(`lsf -R "${store}:${hostBackups}"`));
  d.record({ host_store_backups_bucket_objects: onHostStore.stdout.split("\n").filter(Boolean).length });

  // 2. The app's credentials (its MINIO_* secret files) against a backup, on the host's store
  // (a copy put there with the backup job's identity) and on the remote: refused, object intact.
  const appConf = `${d.appDir}/state/tmp/e2e-app-rclone.conf`;
  const endpointOf = async (section: string) =>
    (
      await d.host(
        `awk -v s='[${section}]' '$0 == s { f = 1; next } /^\\[/ { f = 0 } f && /^endpoint *=/ { sub(/^endpoint *= */, ""); print }' ${d.appDir}/secrets/backup/rclone.conf`,
      )
    ).stdout.trim();
  const storeEndpoint = await endpointOf(store);
  const remoteEndpoint = await endpointOf(remote);
  const mk = await d.host(
    `umask 077; mkdir -p ${d.appDir}/state/tmp; s=${d.appDir}/secrets/app; ` +
      `for n in host remote; do e=$([ $n = host ] && echo ${storeEndpoint} || echo ${remoteEndpoint}); ` +
      `printf '[%s]\\ntype = s3\\nprovider = Other\\naccess_key_id = %s\\nsecret_access_key = %s\\nendpoint = %s\\nregion = us-east-1\\nforce_path_style = true\\nno_check_bucket = true\\n' "$n" "$(cat $s/MINIO_ROOT_USER)" "$(cat $s/MINIO_ROOT_PASSWORD)" "$e"; done >${appConf}`,
  );
  d.check(mk.code === 0, `cannot write the app's rclone.conf: ${mk.stderr}`);
  const hostCopy = `${hostBackups}/postgres/${name}.dump.age`;
  const cp = await d.host(rcl(`copyto "${base}/${name}.dump.age" "${store}:${hostCopy}"`));
  d.check(cp.code === 0, `the backup job cannot write its on-host bucket: ${cp.stderr}`);
  const digest = async (path: string, conf?: string) => (await d.host(`${rcl(`cat "${path}"`, conf)} | sha256sum | cut -c1-64`)).stdout.trim();
  const appAttempts: Record<string, Record<string, unknown>> = {};
  for (const [where, target, owner] of [
    ["host_store", `host:${hostCopy}`, `${store}:${hostCopy}`],
    ["remote", `remote:${base.slice(remote.length + 1)}/${name}.dump.age`, `${base}/${name}.dump.age`],
  ] as const) {
    const want = await digest(owner);
    const del = await d.host(rcl(`deletefile "${target}"`, appConf));
    const purge = await d.host(rcl(`purge "${target.replace(/\/[^/]*$/, "")}"`, appConf));
    const over = await d.host(`echo forged | ${rcl(`rcat "${target}"`, appConf)}`);
    const after = await digest(owner);
    appAttempts[where] = {
      delete_exit: del.code,
      purge_exit: purge.code,
      overwrite_exit: over.code,
      message:
        (del.stderr + over.stderr)
          .split("\n")
          .find((l) => /AccessDenied|InvalidAccessKeyId|doesn't exist|403/.test(l))
          ?.replace(/^.*?ERROR : /, "") ?? "",
      backup_intact: after === want && want.length === 64,
    };
    d.record({ app_credentials: appAttempts });
    d.check(del.code !== 0 && purge.code !== 0 && over.code !== 0, `the app's credentials were not refused on the ${where}`);
    d.check(after === want && want.length === 64, `the backup on the ${where} changed under the app's credentials`);
  }
  await d.host(`rm -f ${appConf}`);

  // 3. A tampered dump in the remote is refused (one byte changed; then put back).
  const saved = `${d.appDir}/state/tmp/e2e-saved.dump.age`;
  await d.host(`${rcl(`cat "${base}/${name}.dump.age"`)} >${saved}`);
  const flip = await d.host(
    `python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 1; sys.stdout.buffer.write(b)' ${saved} | ${rclonePutStdin(d.appDir, `"${base}/${name}.dump.age"`)}`,
  );
  d.check(flip.code === 0, `cannot write the tampered dump: ${flip.stderr}`);
  let tampered: HostRun;
  try {
    tampered = await d.host(`${d.appDir}/current/bin/restore --check --dump ${name}`);
  } finally {
    await d.host(`${rclonePutStdin(d.appDir, `"${base}/${name}.dump.age"`)} <${saved}; rm -f ${saved}`);
  }
  const refusal = tampered.stderr.split("\n").find((l) => /ERROR/.test(l)) ?? "";
  d.record({ tampered_dump: { exit: tampered.code, message: refusal.replace(/^\S+ \S+ /, "") } });
  d.check(tampered.code !== 0 && /does not match its manifest|age decryption/.test(refusal), `a tampered dump was not refused: ${tampered.stderr.slice(-600)}`);
  d.check((await digest(`${base}/${name}.dump.age`)) === manifest.sha256, "the dump was not put back");

  // 4. The disk is lost: every volume of the project, and APP_DIR.
  const manifests = async () => backupNames((await d.host(rcl(LIST_BACKUPS))).stdout);
  const storedBefore = await manifests();
  d.purgeProject();
  const wipe = await d.host(`rm -rf ${d.appDir} && test ! -e ${d.appDir} && docker volume ls -q --filter name=^freshtrack_ | wc -l`);
  d.check(wipe.code === 0 && wipe.stdout.trim() === "0", `the host was not wiped: ${wipe.stdout}${wipe.stderr}`);

  // 5. A new deploy through the program's steps, then bin/restore from the remote.
  const dep = await d.redeploy();
  const servingS = await d.waitServing();
  // The new host's deploy took no first backup of its empty database: the bucket's newest backup,
  // the one bin/restore takes by default, is still the lost host's.
  const storedAfter = await manifests();
  const newAudit = await d.host(`grep -h '"action":"backup"' ${d.appDir}/state/audit.log || true`);
  d.record({ backups_in_bucket: { before_wipe: storedBefore.length, after_redeploy: storedAfter.length, newest: storedAfter.at(-1) ?? null } });
  d.check(
    storedBefore.length > 0 && JSON.stringify(storedAfter) === JSON.stringify(storedBefore),
    `the new host's deploy changed the bucket's backups: ${storedBefore.join(",")} -> ${storedAfter.join(",")}`,
  );
  d.check(newAudit.stdout.trim() === "", `the new host ran a backup at its deploy: ${newAudit.stdout}`);
  const empty = Number(d.psql("SELECT count(*) FROM public.sensor_readings"));
  const restore = await d.host(`${d.appDir}/current/bin/restore --into-production --yes-really --dump ${name}`);
  d.check(restore.code === 0, `bin/restore from the remote failed: ${restore.stderr.slice(-1500)}`);
  const uploads = await d.host(`${d.appDir}/current/bin/restore --uploads --dump ${name}`);
  d.check(uploads.code === 0, `bin/restore --uploads from the remote failed: ${uploads.stderr.slice(-1500)}`);
  const after = countRows();
  const objects: Record<string, { bytes: number; sha256_equal: boolean }> = {};
  for (const [key, bytes] of Object.entries(UPLOADS)) {
    const got = Buffer.from((await d.host(`${rcl(`cat "${admin}:${assets}/${key}"`)} | base64 -w0`)).stdout.trim(), "base64");
    objects[key] = { bytes: got.length, sha256_equal: sha(got) === sha(bytes) };
  }
  d.record({
    wiped_and_redeployed: {
      steps_run: dep.steps,
      deploy_seconds: Number(dep.seconds.toFixed(1)),
      seconds_to_serving: Number(servingS.toFixed(1)),
      readings_on_new_disk: empty,
    },
    restore_seconds: { database: Number(restore.seconds.toFixed(1)), uploads: Number(uploads.seconds.toFixed(1)) },
    rows_after: after,
    objects_after: objects,
  });
  d.check(same(after, inDump), `row counts differ after the restore: in the dump ${JSON.stringify(inDump)}, restored ${JSON.stringify(after)}`);
  for (const [key, o] of Object.entries(objects)) d.check(o.sha256_equal, `${key} came back different (${o.bytes} bytes)`);
  return {
    backup: name,
    remote: base,
    tables: tables.length,
    rows: inDump,
    uploads: Object.fromEntries(Object.entries(UPLOADS).map(([k, v]) => [k, v.length])),
    app_credentials: appAttempts,
    tampered_dump_refused: true,
    redeploy_steps: dep.steps,
    rows_identical: true,
    objects_identical: true,
  };
}
