// A move from a host (vm / droplet) onto aws: the one-off Fargate task that imports
// what the old host pushed into the new side's backups bucket (docs/move.md,
// `bin/move-export --push-s3`). Four containers sharing a scratch volume /move:
//   volumes (rclone image, root, nothing else): makes /move and the restore container's
//           /tmp writable for the non-root containers (Fargate creates volumes root 0755);
//   fetch   (rclone image, uid 65534): copies s3://BACKUPS/move/ to /move with the task
//           role, refuses an incomplete push, and measures the assets bucket;
//   queue   (valkey image, uid 999): empties ElastiCache and loads the pushed job queue
//           (queue.redis; move-queue.ts), then counts what it holds;
//   restore (postgres client image, uid 70): restores db.dump into the app database as the
//           APP role (its DATABASE_URL, TLS verify-full against the RDS CA), recomputes the
//           push's tables / sequences / secrets texts from the live database and its own
//           secrets, compares them (and the assets' count and bytes, the queue's keys) and prints ONE line
//           `FRESHTRACK_MOVE_IMPORT {json}`; exits 0 only when everything is equal.
// Also the two IAM documents: the task role (read move/, list the assets) and the push
// user whose key the old host gets (write move/, sync the assets). Pure: plain data in,
// strings and objects out.
import { SCRATCH_VOLUMES_CONTAINER, scratchVolumesContainer } from "./scratch-volumes";
import { PolicyStatement } from "./iam-policies";
import { MOVE_DIR, MoveTaskInput, moveTaskLog, postgresMoveContainer, rcloneMoveContainer } from "./move-containers";
import { QUEUE_CONTAINER, QUEUE_FILES, QUEUE_LOADED_FILE, QUEUE_SECRET_ENV, moveQueueLoadScript, queueMoveContainer } from "./move-queue";
import { RDS_CA_ENV } from "./rds-ca";

/** The push's prefix in the backups bucket. */
export const MOVE_PREFIX = "move";
/** Starts the restore container's report line. */
export const MOVE_IMPORT_MARKER = "FRESHTRACK_MOVE_IMPORT";
/** The task's scratch volume (fetch writes, restore reads). */
export { MOVE_DIR };
/** The objects the push writes under move/ (manifest.json last: its presence means the push completed). */
export const MOVE_OBJECTS = {
  dump: "db.dump",
  tables: "tables.txt",
  sequences: "sequences.txt",
  objects: "objects.txt",
  secrets: "secrets.txt",
  queue: QUEUE_FILES.commands,
  queueCounts: QUEUE_FILES.counts,
  manifest: "manifest.json",
} as const;
/** Written by the fetch container: `<count> <bytes>` of the new side's assets bucket. */
export const MOVE_ASSETS_SIZE_FILE = "assets-size.txt";
/** Container names (the restore container's exit code is the task's result). */
export const MOVE_IMPORT_CONTAINERS = { volumes: SCRATCH_VOLUMES_CONTAINER, fetch: "fetch", queue: QUEUE_CONTAINER, restore: "restore" } as const;
/** The container whose exit code and log stream (prefix "restore") carry the result. */
export const MOVE_IMPORT_CONTAINER = MOVE_IMPORT_CONTAINERS.restore;
/** The app's secrets the restore container reads (ECS `secrets`, by ARN). */
export const MOVE_IMPORT_DB_SECRET_ENV = ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT"] as const;
/** The app's secrets the task reads (the restore's and the queue container's): the execution role may read exactly these. */
export const MOVE_IMPORT_SECRET_ENV = [...MOVE_IMPORT_DB_SECRET_ENV, ...QUEUE_SECRET_ENV] as const;

/**
 * Exact row count of every table, `<schema>.<table> <rows>` with format('%I.%I') names:
 * FT_COUNT_SQL of compose/files/bin/lib/db.sh (tests keep the two equal).
 */
export const MOVE_COUNT_SQL = `SELECT format('%I.%I', n.nspname, c.relname) || ' ' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1`;

/**
 * `<schema>.<sequence> <last_value> <true|false>` of every sequence (a never-called one as
 * pg_dump's setval writes it: its start value, false): FT_SEQUENCES_SQL of move-lib.sh.
 */
export const MOVE_SEQUENCES_SQL = `SELECT format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value, (SELECT s.seqstart FROM pg_sequence s
  WHERE s.seqrelid = format('%I.%I', schemaname, sequencename)::regclass)) || ' ' || (last_value IS NOT NULL)::text
  FROM pg_sequences ORDER BY 1`;

// Both run inside "..." in the shell: nothing the shell would expand or unquote.
for (const sql of [MOVE_COUNT_SQL, MOVE_SEQUENCES_SQL]) if (/["$`\\]/.test(sql)) throw new Error('move-import: SQL must not contain " $ ` or \\');

const rcloneS3 = (regionVar: string) => `--s3-provider AWS --s3-env-auth --s3-region "$${regionVar}"`;

/**
 * Shell of the fetch container (rclone image: busybox sh, no jq). Environment: BUCKET and
 * AWS_REGION (the backups bucket), ASSETS_BUCKET and ASSETS_REGION (the assets bucket may
 * live in another region), RCLONE_CONFIG / XDG_CACHE_HOME on the scratch volume (read-only
 * root), MOVE_DIR (default /move). Credentials: the task role (env_auth).
 */
export function moveFetchScript(): string {
  // The queue's files are optional: a push by an older release has none (the queue container says so).
  const optional: string[] = [MOVE_OBJECTS.queue, MOVE_OBJECTS.queueCounts];
  const files = Object.values(MOVE_OBJECTS)
    .filter((f) => !optional.includes(f))
    .join(" ");
  return [
    "set -eu",
    `dir=\${MOVE_DIR:-${MOVE_DIR}}`,
    // aws:kms here only tells rclone that the objects' ETags are not MD5s (SSE-KMS): it then checks
    // the download against the md5chksum metadata the push's rclone wrote, not against the ETag.
    `rclone copy ":s3:$BUCKET/${MOVE_PREFIX}/" "$dir" ${rcloneS3("AWS_REGION")} --s3-server-side-encryption aws:kms --fast-list --retries 5`,
    "missing=",
    `for f in ${files}; do [ -f "$dir/$f" ] || missing="$missing ${MOVE_PREFIX}/$f"; done`,
    `if [ -n "$missing" ]; then echo "the push in s3://$BUCKET/${MOVE_PREFIX}/ is incomplete, missing:$missing (run bin/move-export --push-s3 on the old host again)" >&2; exit 1; fi`,
    // One recursive listing, as the old host measured its uploads bucket.
    `size=$(rclone size --json --fast-list ":s3:$ASSETS_BUCKET" ${rcloneS3("ASSETS_REGION")})`,
    `count=$(printf '%s\\n' "$size" | sed -n 's/.*"count": *\\([0-9][0-9]*\\).*/\\1/p')`,
    `bytes=$(printf '%s\\n' "$size" | sed -n 's/.*"bytes": *\\([0-9][0-9]*\\).*/\\1/p')`,
    `if [ -z "$count" ] || [ -z "$bytes" ]; then echo "cannot read the size of s3://$ASSETS_BUCKET from: $size" >&2; exit 1; fi`,
    `printf '%s %s\\n' "$count" "$bytes" > "$dir/${MOVE_ASSETS_SIZE_FILE}"`,
    `echo "fetched s3://$BUCKET/${MOVE_PREFIX}/ (db.dump: $(wc -c < "$dir/${MOVE_OBJECTS.dump}") bytes); s3://$ASSETS_BUCKET holds $count objects, $bytes bytes"`,
    "",
  ].join("\n");
}

// Tables JSON from two `<name> <rows>` files (old, then new): {"name": [old, new], ...}, null where
// a side lacks the table or its count is not a number. POSIX awk (busybox): names are escaped
// character by character (no gsub backslash pitfalls).
const TABLES_JSON_AWK = String.raw`function esc(s,   out, i, c) {
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") out = out "\\\\"
    else if (c == "\"") out = out "\\\""
    else if (c == "\t") out = out "\\t"
    else out = out c
  }
  return out
}
function num(x) { return x ~ /^[0-9]+$/ ? x : "null" }
NF == 0 { next }
{
  k = $0
  sub(/ [^ ]*$/, "", k)
  if (!(k in seen)) { seen[k] = 1; keys[++n] = k }
  if (FILENAME == ARGV[1]) old[k] = $NF; else cur[k] = $NF
}
END {
  printf "{"
  for (i = 1; i <= n; i++) {
    k = keys[i]
    printf "%s\"%s\":[%s,%s]", (i > 1 ? "," : ""), esc(k), ((k in old) ? num(old[k]) : "null"), ((k in cur) ? num(cur[k]) : "null")
  }
  printf "}"
}`;
if (TABLES_JSON_AWK.includes("'")) throw new Error("move-import: the awk program must not contain a single quote");

/**
 * Shell of the restore container (postgres alpine image: busybox sh, psql/pg_restore, no jq).
 * Connects with DATABASE_URL (the app role's own URL, as the backend uses it: on aws
 * `…?sslmode=verify-full&sslrootcert=/tmp/rds-ca.pem`), after writing RDS_CA_BUNDLE to
 * $PGSSLROOTCERT (that same file) when PGSSLROOTCERT is set. JWT_SECRET and
 * TTN_ENCRYPTION_SALT are only hashed. MOVE_DIR (default /move) holds what fetch wrote.
 */
export function moveRestoreScript(dbName: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error("database name must be a plain identifier");
  const o = MOVE_OBJECTS;
  const psql = 'psql -X -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL"';
  return [
    "set -eu",
    `dir=\${MOVE_DIR:-${MOVE_DIR}}`,
    'die() { echo "move-import: $*" >&2; exit 1; }',
    ': "${DATABASE_URL:?DATABASE_URL is empty}"',
    // The RDS root CAs, where PGSSLROOTCERT (and the URL's sslrootcert) point.
    `if [ -n "\${PGSSLROOTCERT:-}" ]; then printf '%s\\n' "\${${RDS_CA_ENV}:?${RDS_CA_ENV} is empty}" > "$PGSSLROOTCERT"; fi`,
    `for f in ${[o.dump, o.tables, o.sequences, o.objects, o.secrets, MOVE_ASSETS_SIZE_FILE].join(" ")}; do [ -f "$dir/$f" ] || die "$dir/$f is missing (did the fetch container run?)"; done`,
    `[ -f "$dir/${QUEUE_LOADED_FILE}" ] || die "$dir/${QUEUE_LOADED_FILE} is missing (did the queue container run?)"`,
    "work=$(mktemp -d)",
    // The URL's database must be the app database: a wrong secret must not restore elsewhere.
    `db=$(${psql} -c 'SELECT current_database()')`,
    `[ "$db" = "${dbName}" ] || die "DATABASE_URL names the database $db, not ${dbName}: nothing restored"`,
    `role=$(${psql} -c 'SELECT current_user')`,
    `echo "move-import: restoring ${o.dump} ($(wc -c < "$dir/${o.dump}") bytes) into ${dbName} as $role" >&2`,
    // As the app role, so every restored object is its own (no owners, no grants from the old side).
    `pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d "$DATABASE_URL" "$dir/${o.dump}" || die "pg_restore failed: the database is as it was before (one transaction)"`,
    // Never through a pipe from psql (no pipefail in every sh): a failed query must stop the script.
    `${psql} -c "${MOVE_COUNT_SQL}" > "$work/tables.raw"`,
    `LC_ALL=C sort "$work/tables.raw" > "$work/tables.txt"`,
    `${psql} -c "${MOVE_SEQUENCES_SQL}" > "$work/sequences.raw"`,
    `LC_ALL=C sort "$work/sequences.raw" > "$work/sequences.txt"`,
    // Digests only: the values never reach a file, an argument or the log.
    'digest() { printf %s "$1" | sha256sum | cut -c1-64; }',
    'jwt=$(digest "${JWT_SECRET:-}")',
    'salt=$(digest "${TTN_ENCRYPTION_SALT:-}")',
    'printf \'jwt_secret_sha256 %s\\nttn_encryption_salt_sha256 %s\\n\' "$jwt" "$salt" > "$work/secrets.txt"',
    'same() { [ "$(cat "$1")" = "$(cat "$2")" ] && echo true || echo false; }',
    `tables_equal=$(same "$dir/${o.tables}" "$work/tables.txt")`,
    `sequences_equal=$(same "$dir/${o.sequences}" "$work/sequences.txt")`,
    `secrets_equal=$(same "$dir/${o.secrets}" "$work/secrets.txt")`,
    'if [ -z "${JWT_SECRET:-}" ] || [ -z "${TTN_ENCRYPTION_SALT:-}" ]; then secrets_equal=false; fi',
    "num() { case $1 in '' | *[!0-9]*) printf null ;; *) printf %s \"$1\" ;; esac; }",
    `read -r oc ob _ < "$dir/${o.objects}" || true`,
    `read -r nc nb _ < "$dir/${MOVE_ASSETS_SIZE_FILE}" || true`,
    'oc=$(num "${oc:-}"); ob=$(num "${ob:-}"); nc=$(num "${nc:-}"); nb=$(num "${nb:-}")',
    // The job queue: null when the old side ran no redis. Equal when the keys without a TTL are
    // as many on both sides (a key with a TTL may expire meanwhile), judged only for a copy taken
    // inside the old side's freeze (a prepare's copy is a rehearsal: the old app still runs).
    `read -r qk qe qf < "$dir/${o.queueCounts}" || true`,
    `read -r lk le < "$dir/${QUEUE_LOADED_FILE}" || true`,
    "queue=null; queue_equal=null",
    'if [ "${qk:-none}" != none ] && [ "${lk:-none}" != none ]; then',
    '  qk=$(num "$qk"); qe=$(num "${qe:-}"); lk=$(num "$lk"); le=$(num "${le:-}")',
    `  queue=$(printf '{"old":[%s,%s],"new":[%s,%s]}' "$qk" "$qe" "$lk" "$le")`,
    '  if [ "${qf:-}" = true ]; then',
    "    queue_equal=false",
    '    if [ "$qk" != null ] && [ "$qe" != null ] && [ "$lk" != null ] && [ "$le" != null ] && [ $((qk - qe)) -eq $((lk - le)) ]; then queue_equal=true; fi',
    "  fi",
    "fi",
    "objects_equal=false",
    'if [ "$oc" != null ] && [ "$ob" != null ] && [ "$oc" = "$nc" ] && [ "$ob" = "$nb" ]; then objects_equal=true; fi',
    // What differs, for whoever reads the log (names and numbers only).
    'differ() { echo "move-import: $1 differ; pushed (-) vs restored (+):" >&2; grep -vxF -f "$3" "$2" | sed "s/^/  - /" >&2 || true; grep -vxF -f "$2" "$3" | sed "s/^/  + /" >&2 || true; }',
    `[ "$tables_equal" = true ] || differ tables "$dir/${o.tables}" "$work/tables.txt"`,
    `[ "$sequences_equal" = true ] || differ sequences "$dir/${o.sequences}" "$work/sequences.txt"`,
    `[ "$secrets_equal" = true ] || echo "move-import: the sha256 of JWT_SECRET or TTN_ENCRYPTION_SALT differs from the old side's (the values are not shown)" >&2`,
    `[ "$objects_equal" = true ] || echo "move-import: the assets bucket holds $nc objects, $nb bytes; the old side had $oc, $ob" >&2`,
    `[ "$queue_equal" != false ] || echo "move-import: redis holds $lk keys ($le with a TTL); the old side's queue had $qk ($qe)" >&2`,
    `tables=$(awk '${TABLES_JSON_AWK}' "$dir/${o.tables}" "$work/tables.txt")`,
    "ok=false",
    'if [ "$tables_equal" = true ] && [ "$sequences_equal" = true ] && [ "$objects_equal" = true ] && [ "$secrets_equal" = true ] && [ "$queue_equal" != false ]; then ok=true; fi',
    'rm -rf "$work"',
    `printf '${MOVE_IMPORT_MARKER} {"tables_equal":%s,"sequences_equal":%s,"objects_equal":%s,"secrets_equal":%s,"queue_equal":%s,"tables":%s,"objects":{"old":[%s,%s],"new":[%s,%s]},"queue":%s,"ok":%s}\\n' \\`,
    '  "$tables_equal" "$sequences_equal" "$objects_equal" "$secrets_equal" "$queue_equal" "$tables" "$oc" "$ob" "$nc" "$nb" "$queue" "$ok"',
    '[ "$ok" = true ]',
    "",
  ].join("\n");
}

export type MoveImportTaskInput = MoveTaskInput;

/** The task definition's volumes (ECS task-level `volumes`). */
export const MOVE_IMPORT_VOLUMES = [{ name: "move" }, { name: "restore-tmp" }];

/** The task's containers, as ECS JSON: volumes -> fetch -> queue -> restore (restore is the essential one). */
export function moveImportContainerDefinitions(i: MoveImportTaskInput): string {
  for (const env of MOVE_IMPORT_SECRET_ENV) if (!i.secretArns[env]) throw new Error(`move-import: no Secrets Manager ARN for ${env}`);
  const move = { sourceVolume: "move", containerPath: MOVE_DIR, readOnly: false };
  const tmp = { sourceVolume: "restore-tmp", containerPath: "/tmp", readOnly: false };
  const C = MOVE_IMPORT_CONTAINERS;
  const defs = [
    // /move for fetch (uid 65534) and restore, /tmp for restore (uid 70).
    scratchVolumesContainer(i.rcloneImage, [move, tmp], moveTaskLog(i, C.volumes)),
    rcloneMoveContainer(i, { name: C.fetch, script: moveFetchScript(), essential: false, mounts: [move], after: C.volumes }),
    queueMoveContainer(i, { script: moveQueueLoadScript(), mounts: [move], after: C.fetch }),
    postgresMoveContainer(
      i,
      { name: C.restore, script: moveRestoreScript(i.dbName), essential: true, mounts: [move, tmp], after: C.queue },
      MOVE_IMPORT_DB_SECRET_ENV,
    ),
  ];
  return JSON.stringify(defs);
}

/** An IAM statement that may carry a condition (iam-policies.ts's has none). */
export interface MovePolicyStatement extends PolicyStatement {
  Condition?: Record<string, Record<string, string[]>>;
}
export interface MovePolicyDocument {
  Version: "2012-10-17";
  Statement: MovePolicyStatement[];
}

/** ListBucket on the backups bucket, limited to the keys under move/ (what each side of a move lists there). */
export function listMovePrefix(sid: string, backupsBucketArn: string): MovePolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: ["s3:ListBucket"],
    Resource: [backupsBucketArn],
    Condition: { StringLike: { "s3:prefix": [`${MOVE_PREFIX}/*`] } },
  };
}

/** The task role: read the push under move/ (decrypting it) and list the assets bucket. Nothing else. */
export function moveImportTaskPolicy(backupsBucketArn: string, assetsBucketArn: string, kmsKeyArn: string): MovePolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadPush", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${backupsBucketArn}/${MOVE_PREFIX}/*`] },
      listMovePrefix("ListPush", backupsBucketArn),
      { Sid: "MeasureAssets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [assetsBucketArn] },
      { Sid: "DecryptPush", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [kmsKeyArn] },
    ],
  };
}

/**
 * The IAM user whose access key the OLD host gets for `bin/move-export --push-s3` (a Pulumi
 * secret on its stdin). Backups bucket: PutObject under move/ only, no read, no delete (the
 * bucket's Object Lock keeps every version anyway). ListBucket limited to the prefix move/:
 * `rclone copy DIR :s3:BACKUPS/move/` lists the destination prefix to decide what to send.
 * Without GetObject a HEAD of a destination object answers 403, so the push must not HEAD
 * (`--no-check-dest` for copyto, `--s3-no-head`). Assets bucket: what `rclone sync` needs
 * (list, read the mtime metadata, write, delete extraneous keys). KMS: S3 asks for a data key
 * (GenerateDataKey) for each SSE-KMS object; a multipart upload (rclone: files above
 * --s3-upload-cutoff, 200 MiB; a database dump easily is) also needs kms:Decrypt, because S3
 * decrypts the parts to complete it (AWS: "Multipart upload API and permissions"). Encrypt as
 * the dump task's role has it. No AbortMultipartUpload: the buckets' lifecycle aborts
 * incomplete uploads (backups after 2 days, assets after 7).
 */
export function movePushUserPolicy(backupsBucketArn: string, assetsBucketArn: string, kmsKeyArn: string): MovePolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "WritePush", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${backupsBucketArn}/${MOVE_PREFIX}/*`] },
      listMovePrefix("ListPush", backupsBucketArn),
      { Sid: "ListAssets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [assetsBucketArn] },
      { Sid: "SyncAssets", Effect: "Allow", Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], Resource: [`${assetsBucketArn}/*`] },
      { Sid: "EncryptPush", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: [kmsKeyArn] },
    ],
  };
}

/** What the restore container reports (no secret in it). */
export interface MoveImportReport {
  tables_equal: boolean;
  sequences_equal: boolean;
  objects_equal: boolean;
  secrets_equal: boolean;
  /** name -> [rows pushed, rows restored]; null where a side lacks the table. */
  tables: Record<string, [number | null, number | null]>;
  objects: { old: [number | null, number | null]; new: [number | null, number | null] };
  /** Keys and keys with a TTL of the job queue: pushed, and in the new side's redis once loaded; null when the old side ran no redis. */
  queue: { old: [number | null, number | null]; new: [number | null, number | null] } | null;
  /** null when not judged: no queue travelled, or it was copied outside a freeze (a prepare). */
  queue_equal: boolean | null;
  ok: boolean;
}

const isCount = (x: unknown) => x === null || (typeof x === "number" && Number.isInteger(x) && x >= 0);
const isPair = (x: unknown) => Array.isArray(x) && x.length === 2 && x.every(isCount);

/**
 * The report in a blob of log text (a task's log, `aws logs` output with timestamps or stream
 * names before the marker): the last well-formed `FRESHTRACK_MOVE_IMPORT {json}` line, or
 * undefined when there is none (the task failed before its verification).
 */
export function moveImportLogLine(logText: string): MoveImportReport | undefined {
  let found: MoveImportReport | undefined;
  for (const line of logText.split(/\r?\n/)) {
    const at = line.indexOf(`${MOVE_IMPORT_MARKER} {`);
    if (at < 0 || (at > 0 && !/\s$/.test(line.slice(0, at)))) continue;
    let r: unknown;
    try {
      r = JSON.parse(line.slice(at + MOVE_IMPORT_MARKER.length + 1).trim());
    } catch {
      continue;
    }
    if (typeof r !== "object" || r === null) continue;
    const v = r as Record<string, unknown>;
    const flags = ["tables_equal", "sequences_equal", "objects_equal", "secrets_equal", "ok"];
    if (!flags.every((f) => typeof v[f] === "boolean")) continue;
    if (typeof v.tables !== "object" || v.tables === null || Array.isArray(v.tables) || !Object.values(v.tables).every(isPair)) continue;
    const objs = v.objects as Record<string, unknown> | null;
    if (typeof objs !== "object" || objs === null || !isPair(objs.old) || !isPair(objs.new)) continue;
    // Both null in a report of a task definition older than the queue's copy.
    v.queue_equal ??= null;
    v.queue ??= null;
    if (v.queue_equal !== null && typeof v.queue_equal !== "boolean") continue;
    const q = v.queue as Record<string, unknown> | null;
    if (q !== null && (typeof q !== "object" || !isPair(q.old) || !isPair(q.new))) continue;
    found = r as MoveImportReport;
  }
  return found;
}
