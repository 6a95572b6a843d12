// A move from aws onto a host (vm / droplet): the one-off Fargate task that exports this side's
// data into ITS OWN backups bucket under move/, in the contract a host's push writes
// (bin/move-export --push-s3: db.dump, queue.redis, queue.txt, tables.txt, sequences.txt,
// objects.txt, secrets.txt, manifest.json last), for the new host to pull with a read-only key.
// Four containers sharing a scratch volume /move:
//   volumes (rclone image, root, nothing else): makes /move and the dump container's /tmp
//           writable for the non-root containers (Fargate creates volumes root 0755);
//   dump    (postgres client image, uid 70): pg_dump -Fc -Z 1 of the app database as the APP role
//           (its DATABASE_URL, TLS verify-full against the RDS CA), then tables.txt and
//           sequences.txt read from the dump itself and secrets.txt from its own secrets;
//   queue   (valkey image, uid 999): the job queue key by key from ElastiCache (move-queue.ts):
//           queue.redis and queue.txt;
//   upload  (rclone image, uid 65534): measures the assets bucket (objects.txt), removes the
//           previous export (manifest.json first), uploads the files with SSE-KMS, manifest.json
//           last, and prints ONE line `FRESHTRACK_MOVE_EXPORT {json}`; exits 0 only on success.
// Also the two IAM documents: the task role (write move/, list the assets) and the pull user
// whose key the new host gets (read move/ and the assets). Pure: plain data in, strings out.
import { listMovePrefix, MOVE_DIR, MOVE_OBJECTS, MOVE_PREFIX, MovePolicyDocument } from "./move-import";
import { MoveTaskInput, moveTaskLog, postgresMoveContainer, rcloneMoveContainer } from "./move-containers";
import { QUEUE_CONTAINER, QUEUE_DUMP_ENV, QUEUE_FILES, QUEUE_SECRET_ENV, moveQueueDumpScript, queueDumpCommand, queueMoveContainer } from "./move-queue";
import { RDS_CA_ENV } from "./rds-ca";
import { SCRATCH_VOLUMES_CONTAINER, scratchVolumesContainer } from "./scratch-volumes";

/** Starts the upload container's report line. */
export const MOVE_EXPORT_MARKER = "FRESHTRACK_MOVE_EXPORT";
/** Container names (the upload container's exit code is the task's result). */
export const MOVE_EXPORT_CONTAINERS = { volumes: SCRATCH_VOLUMES_CONTAINER, dump: "dump", queue: QUEUE_CONTAINER, upload: "upload" } as const;
/** The container whose exit code and log stream (prefix "upload", its name) carry the result. */
export const MOVE_EXPORT_CONTAINER = MOVE_EXPORT_CONTAINERS.upload;
/** Its awslogs stream prefix (streams are PREFIX/CONTAINER/TASK-ID): LOG_STREAM_PREFIX of the run step. */
export const MOVE_EXPORT_LOG_PREFIX = MOVE_EXPORT_CONTAINER;
/** The app's secrets the dump container reads (ECS `secrets`, by ARN). */
export const MOVE_EXPORT_DB_SECRET_ENV = ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT"] as const;
/** The app's secrets the task reads (the dump's and the queue container's): the execution role may read exactly these. */
export const MOVE_EXPORT_SECRET_ENV = [...MOVE_EXPORT_DB_SECRET_ENV, ...QUEUE_SECRET_ENV] as const;
/** Set on the upload container by the run step (run-task overrides) when a write freeze began: epoch seconds. */
export const MOVE_FREEZE_ENV = "MOVE_FREEZE_STARTED";
/** The task definition's volumes (ECS task-level `volumes`). */
export const MOVE_EXPORT_VOLUMES = [{ name: "move" }, { name: "dump-tmp" }];

/**
 * ft_db_dump_counts's awk program (compose/files/bin/lib/db.sh, tests keep the two equal): the
 * rows of each COPY block of `pg_restore --data-only -f -`, named as the COPY line names the
 * table (up to the first space outside double quotes).
 */
export const DUMP_COUNTS_AWK = String.raw`function copy_name(s,   i, c, quoted, out) {
         for (i = 1; i <= length(s); i++) {
           c = substr(s, i, 1)
           if (c == "\"") quoted = !quoted
           else if (c == " " && !quoted) break
           out = out c
         }
         return out
       }
       /^COPY / { t = copy_name(substr($0, 6)); n = 0; inside = 1; next }
       inside && /^\\\.$/ { print t, n; inside = 0; next }
       inside { n++ }`;

// The setval lines of the same stream, to the file named by -v seqs, as ft_move_dump_sequence_lines
// (move-lib.sh) reads them: `<name> <value> <true|false>`. The name is the string literal's
// content, with a doubled quote undone (pg_dump doubles a ' in a name; the host's sed skips such
// a line, so its sequence would be missing there), which is what format('%I.%I') gives on the
// restored database. Lines inside a COPY block are data, never a setval. The quote comes from
// sprintf: the program sits between single quotes in the shell.
const SETVAL_AWK = String.raw`
BEGIN { q = sprintf("%c", 39); head = "SELECT pg_catalog.setval(" q }
function setval(s,   name, tail) {
  if (substr(s, 1, length(head)) != head) return
  if (!match(s, /, -?[0-9]+, (true|false)\);$/)) return
  if (RSTART <= length(head) + 1 || substr(s, RSTART - 1, 1) != q) return
  name = substr(s, length(head) + 1, RSTART - 2 - length(head))
  gsub(q q, q, name)
  tail = substr(s, RSTART + 2, RLENGTH - 4)
  sub(/, /, " ", tail)
  print name " " tail > seqs
}
!inside { setval($0) }`;

for (const awk of [DUMP_COUNTS_AWK, SETVAL_AWK]) if (awk.includes("'")) throw new Error("move-export: an awk program must not contain a single quote");

/**
 * Shell of the dump container (postgres alpine image: busybox sh, pg_dump/pg_restore/psql, no
 * jq). Connects with DATABASE_URL (the app role's own URL, on aws
 * `…?sslmode=verify-full&sslrootcert=/tmp/rds-ca.pem`), after writing RDS_CA_BUNDLE to
 * $PGSSLROOTCERT (that same file) when PGSSLROOTCERT is set. JWT_SECRET and TTN_ENCRYPTION_SALT
 * are only hashed. Writes db.dump, tables.txt, sequences.txt and secrets.txt into MOVE_DIR
 * (default /move); the three texts only once everything succeeded.
 */
export function moveDumpScript(dbName: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error("database name must be a plain identifier");
  const o = MOVE_OBJECTS;
  const psql = 'psql -X -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL"';
  return [
    "set -eu",
    `dir=\${MOVE_DIR:-${MOVE_DIR}}`,
    'die() { echo "move-export: $*" >&2; exit 1; }',
    ': "${DATABASE_URL:?DATABASE_URL is empty}"',
    // The RDS root CAs, where PGSSLROOTCERT (and the URL's sslrootcert) point.
    `if [ -n "\${PGSSLROOTCERT:-}" ]; then printf '%s\\n' "\${${RDS_CA_ENV}:?${RDS_CA_ENV} is empty}" > "$PGSSLROOTCERT"; fi`,
    // Nothing of an earlier run survives: the upload container wants all four files.
    `rm -f "$dir/${o.dump}" "$dir/${o.tables}" "$dir/${o.sequences}" "$dir/${o.secrets}"`,
    'work="$dir/.dump-texts"',
    'rm -rf "$work"',
    'mkdir "$work"',
    // The URL's database must be the app database: a wrong secret must not export another one.
    `db=$(${psql} -c 'SELECT current_database()')`,
    `[ "$db" = "${dbName}" ] || die "DATABASE_URL names the database $db, not ${dbName}: nothing exported"`,
    `role=$(${psql} -c 'SELECT current_user')`,
    // gzip level 1, as a host's move-export: the cutover's dump runs inside the write freeze, and
    // level 1 took less than half the time of the default 6 for a file 7% larger (docs/move.md).
    `pg_dump --format=custom --compress=1 --dbname="$DATABASE_URL" --file="$dir/${o.dump}" || die "pg_dump of ${dbName} as $role failed"`,
    `[ -s "$dir/${o.dump}" ] || die "pg_dump produced an empty file"`,
    `echo "move-export: dumped ${dbName} as $role: $(wc -c < "$dir/${o.dump}") bytes" >&2`,
    // Counts and sequence values from the dump itself (the app may write meanwhile: a query on the
    // live database would not describe this dump), in one pass over its data. No pipefail in sh:
    // pg_restore's failure is kept in a file.
    ': > "$work/sequences.raw"',
    `{ pg_restore --data-only -f - "$dir/${o.dump}" || echo "$?" > "$work/pg_restore.rc"; } | awk -v seqs="$work/sequences.raw" '${DUMP_COUNTS_AWK}${SETVAL_AWK}' > "$work/tables.raw"`,
    `[ ! -e "$work/pg_restore.rc" ] || die "pg_restore could not read the dump (exit $(cat "$work/pg_restore.rc"))"`,
    `LC_ALL=C sort "$work/tables.raw" > "$work/${o.tables}"`,
    `LC_ALL=C sort "$work/sequences.raw" > "$work/${o.sequences}"`,
    // As ft_move_secret_digest hashes the host's secret files (the value, no newline added: the
    // files hold none), "missing" for an empty one. Digests only: the values never reach a file,
    // an argument or the log.
    'digest() { if [ -n "$1" ]; then printf %s "$1" | sha256sum | cut -c1-64; else printf missing; fi; }',
    'jwt=$(digest "${JWT_SECRET:-}")',
    'salt=$(digest "${TTN_ENCRYPTION_SALT:-}")',
    `printf 'jwt_secret_sha256 %s\\nttn_encryption_salt_sha256 %s\\n' "$jwt" "$salt" > "$work/${o.secrets}"`,
    `mv "$work/${o.tables}" "$work/${o.sequences}" "$work/${o.secrets}" "$dir/"`,
    'rm -rf "$work"',
    `echo "move-export: $(wc -l < "$dir/${o.tables}") tables, $(wc -l < "$dir/${o.sequences}") sequences read from the dump" >&2`,
    "",
  ].join("\n");
}

const rcloneS3 = (regionVar: string) => `--s3-provider AWS --s3-env-auth --s3-region "$${regionVar}"`;

/**
 * Shell of the upload container (rclone image: busybox sh, no jq). Environment: BUCKET and
 * AWS_REGION (this side's backups bucket), SSE_KMS_ARN (its key), ASSETS_BUCKET and
 * ASSETS_REGION, RCLONE_CONFIG / XDG_CACHE_HOME on the scratch volume (read-only root),
 * MOVE_DIR (default /move), MOVE_FREEZE_STARTED (optional: epoch seconds, when the old side's
 * write freeze began). Credentials: the task role (env_auth). Nothing is deleted or uploaded
 * unless the dump container's four files are there and the assets bucket could be measured.
 */
export function moveUploadScript(): string {
  const o = MOVE_OBJECTS;
  const dest = `":s3:$BUCKET/${MOVE_PREFIX}/"`;
  // No HEAD, no bucket check: the role may neither read move/ nor create a bucket. --no-check-dest:
  // the previous export is gone, there is nothing to compare with.
  const put = `${rcloneS3("AWS_REGION")} --s3-server-side-encryption aws:kms --s3-sse-kms-key-id "$SSE_KMS_ARN" --s3-no-check-bucket --s3-no-head --no-check-dest --retries 5`;
  return [
    "set -eu",
    `dir=\${MOVE_DIR:-${MOVE_DIR}}`,
    'die() { echo "move-export: $*" >&2; exit 1; }',
    ': "${BUCKET:?}" "${AWS_REGION:?}" "${SSE_KMS_ARN:?}" "${ASSETS_BUCKET:?}" "${ASSETS_REGION:?}"',
    `for f in ${[o.dump, o.tables, o.sequences, o.secrets].join(" ")}; do [ -f "$dir/$f" ] || die "$dir/$f is missing (the dump container did not finish): nothing uploaded"; done`,
    `for f in ${[QUEUE_FILES.commands, QUEUE_FILES.counts].join(" ")}; do [ -f "$dir/$f" ] || die "$dir/$f is missing (the queue container did not finish): nothing uploaded"; done`,
    `read -r queue_keys queue_expires _ < "$dir/${QUEUE_FILES.counts}" || die "$dir/${QUEUE_FILES.counts} is empty: nothing uploaded"`,
    'case "$queue_keys $queue_expires" in *[!0-9\\ ]* | " "* | *" ") die "the queue counts are not numbers: nothing uploaded" ;; esac',
    `[ -s "$dir/${o.dump}" ] || die "$dir/${o.dump} is empty: nothing uploaded"`,
    // A JSON number or null in the manifest.
    `freeze=\${${MOVE_FREEZE_ENV}:-}`,
    "case $freeze in",
    "  '') freeze=null ;;",
    `  *[!0-9.]* | .* | *. | *.*.* | 0*) die "${MOVE_FREEZE_ENV} '$freeze' is not epoch seconds: nothing uploaded" ;;`,
    "esac",
    // One recursive listing, as the host measures its uploads bucket (`COUNT BYTES`).
    `size=$(rclone size --json --fast-list ":s3:$ASSETS_BUCKET" ${rcloneS3("ASSETS_REGION")}) || die "cannot measure s3://$ASSETS_BUCKET: nothing uploaded"`,
    `count=$(printf '%s\\n' "$size" | sed -n 's/.*"count": *\\([0-9][0-9]*\\).*/\\1/p')`,
    `bytes=$(printf '%s\\n' "$size" | sed -n 's/.*"bytes": *\\([0-9][0-9]*\\).*/\\1/p')`,
    `if [ -z "$count" ] || [ -z "$bytes" ]; then die "cannot read the size of s3://$ASSETS_BUCKET from: $size"; fi`,
    `printf '%s %s\\n' "$count" "$bytes" > "$dir/${o.objects}"`,
    // The previous export goes, its manifest first: from here until the new one is written last,
    // no manifest in move/ describes files of another export.
    `rclone delete ${dest} --include "/${o.manifest}" ${rcloneS3("AWS_REGION")} --fast-list --retries 5 || die "cannot remove the previous s3://$BUCKET/${MOVE_PREFIX}/${o.manifest}"`,
    `rclone delete ${dest} ${rcloneS3("AWS_REGION")} --fast-list --retries 5 || die "cannot remove the previous export in s3://$BUCKET/${MOVE_PREFIX}/"`,
    `put() { rclone copyto "$dir/$1" ":s3:$BUCKET/${MOVE_PREFIX}/$1" ${put} || die "uploading $1 to s3://$BUCKET/${MOVE_PREFIX}/ failed"; }`,
    `for f in ${[o.dump, QUEUE_FILES.commands, QUEUE_FILES.counts, o.tables, o.sequences, o.objects, o.secrets].join(" ")}; do put "$f"; done`,
    // Last: a manifest in move/ says the files before it are complete.
    `printf '{"source":"aws","created":%s,"freeze_started":%s}\\n' "$(date +%s)" "$freeze" > "$dir/${o.manifest}"`,
    `put ${o.manifest}`,
    `tables=$(($(wc -l < "$dir/${o.tables}")))`,
    `sequences=$(($(wc -l < "$dir/${o.sequences}")))`,
    `dump_bytes=$(($(wc -c < "$dir/${o.dump}")))`,
    `echo "move-export: exported to s3://$BUCKET/${MOVE_PREFIX}/; s3://$ASSETS_BUCKET holds $count objects, $bytes bytes" >&2`,
    `printf '${MOVE_EXPORT_MARKER} {"tables":%s,"sequences":%s,"objects":{"count":%s,"bytes":%s},"queue":{"keys":%s,"expires":%s},"dump_bytes":%s,"freeze_started":%s}\\n' \\`,
    '  "$tables" "$sequences" "$count" "$bytes" "$queue_keys" "$queue_expires" "$dump_bytes" "$freeze"',
    "",
  ].join("\n");
}

/**
 * The `--overrides` JSON of `aws ecs run-task` (runTaskScript's OVERRIDES_JSON) that hands the
 * upload container the time the old side's write freeze began (epoch seconds, as `date +%s` or
 * `date +%s.%N` print it).
 */
export function moveExportOverrides(freezeStarted: string): string {
  if (!/^[1-9][0-9]*(\.[0-9]+)?$/.test(freezeStarted)) throw new Error(`move-export: '${freezeStarted}' is not epoch seconds`);
  const environment = [{ name: MOVE_FREEZE_ENV, value: freezeStarted }];
  // The queue container marks its counts as taken inside the freeze; the upload container writes the time into the manifest.
  return JSON.stringify({ containerOverrides: [QUEUE_CONTAINER, MOVE_EXPORT_CONTAINER].map((name) => ({ name, environment })) });
}

export interface MoveExportTaskInput extends MoveTaskInput {
  /** The backups' KMS key: the export is encrypted with it (SSE-KMS). */
  kmsKeyArn: string;
}

/** The task's containers, as ECS JSON: volumes -> dump -> queue -> upload (upload is the essential one). */
export function moveExportContainerDefinitions(i: MoveExportTaskInput): string {
  for (const env of MOVE_EXPORT_SECRET_ENV) if (!i.secretArns[env]) throw new Error(`move-export: no Secrets Manager ARN for ${env}`);
  const move = { sourceVolume: "move", containerPath: MOVE_DIR, readOnly: false };
  const tmp = { sourceVolume: "dump-tmp", containerPath: "/tmp", readOnly: false };
  const C = MOVE_EXPORT_CONTAINERS;
  const defs = [
    // /move for dump (uid 70) and upload (uid 65534), /tmp for dump (the RDS CA file).
    scratchVolumesContainer(i.rcloneImage, [move, tmp], moveTaskLog(i, C.volumes)),
    postgresMoveContainer(
      i,
      { name: C.dump, script: moveDumpScript(i.dbName), essential: false, mounts: [move, tmp], after: C.volumes },
      MOVE_EXPORT_DB_SECRET_ENV,
    ),
    queueMoveContainer(i, { script: moveQueueDumpScript(), mounts: [move], after: C.dump }, [{ name: QUEUE_DUMP_ENV, value: queueDumpCommand() }]),
    rcloneMoveContainer(i, { name: C.upload, script: moveUploadScript(), essential: true, mounts: [move], after: C.queue }, [
      { name: "SSE_KMS_ARN", value: i.kmsKeyArn },
    ]),
  ];
  return JSON.stringify(defs);
}

/**
 * The task role: replace the export under move/ in the backups bucket (list the prefix, delete the
 * previous objects, put the new ones) and measure the assets bucket (a listing). KMS: S3 asks for a
 * data key (GenerateDataKey) for each SSE-KMS object, and decrypts the parts of a multipart upload
 * (rclone: above 200 MiB, as a dump easily is) to complete it (kms:Decrypt); Encrypt as the dump
 * task's role has it. No GetObject: the upload never reads back (--s3-no-head, --no-check-dest).
 * The bucket's Object Lock keeps every version: a delete only adds a delete marker. No
 * AbortMultipartUpload: the bucket's lifecycle aborts incomplete uploads after 2 days.
 */
export function moveExportTaskPolicy(backupsBucketArn: string, assetsBucketArn: string, kmsKeyArn: string): MovePolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "WriteExport", Effect: "Allow", Action: ["s3:DeleteObject", "s3:PutObject"], Resource: [`${backupsBucketArn}/${MOVE_PREFIX}/*`] },
      listMovePrefix("ListExport", backupsBucketArn),
      { Sid: "MeasureAssets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [assetsBucketArn] },
      { Sid: "EncryptExport", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: [kmsKeyArn] },
    ],
  };
}

/**
 * The IAM user whose access key the NEW host gets (`bin/move-import --from-s3`, a Pulumi secret):
 * read only. Backups bucket: list the prefix move/ and get its objects (decrypting them: SSE-KMS
 * with the backups key). Assets bucket: list and get every object, which needs no KMS permission:
 * its default encryption is SSE-S3 (buckets.ts) and neither the app nor a host's push sets another.
 * No write, no delete anywhere, nothing of the dumps under postgres/.
 */
export function movePullUserPolicy(backupsBucketArn: string, assetsBucketArn: string, kmsKeyArn: string): MovePolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadExport", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${backupsBucketArn}/${MOVE_PREFIX}/*`] },
      listMovePrefix("ListExport", backupsBucketArn),
      { Sid: "ListAssets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [assetsBucketArn] },
      { Sid: "ReadAssets", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${assetsBucketArn}/*`] },
      { Sid: "DecryptExport", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [kmsKeyArn] },
    ],
  };
}
