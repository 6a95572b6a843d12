// The job queue in a move with aws on one side. ElastiCache can neither hand over nor load a
// server's files (no SYNC, BGSAVE or CONFIG), so the queue travels key by key: DUMP of every key
// with its remaining TTL, written by compose/files/move/queue-dump.lua as valkey-cli input
// (`RESTORE "key" TTL "payload" REPLACE` lines), which the other side feeds to its redis after a
// FLUSHALL. A host does both with bin/move-lib.sh (ft_move_queue_dump, ft_move_queue_load); on
// aws a "queue" container of the move's one-off task does them against ElastiCache (TLS, the
// AUTH token on valkey-cli's stdin, never an argument). Pure: plain data in, strings out.
import * as fs from "fs";
import * as path from "path";
import { STATIC_FILES_DIR } from "../../compose/bundle";
import { MOVE_DIR, MoveTaskInput, MountPoint, moveTaskLog } from "./move-containers";

/** The dump program (read at plan time: a task has no file of ours). */
export const QUEUE_DUMP_LUA_PATH = path.join(STATIC_FILES_DIR, "move", "queue-dump.lua");

/** The files a queue travels as, under move/ beside db.dump. */
export const QUEUE_FILES = {
  /** valkey-cli input: one RESTORE line per key. */
  commands: "queue.redis",
  /** `KEYS EXPIRES FROZEN` of the side that wrote it (FROZEN: true when written inside a write freeze), or `none`. */
  counts: "queue.txt",
} as const;
/** Written by the import's queue container: `KEYS EXPIRES` of the new side's redis once loaded, or `none`. */
export const QUEUE_LOADED_FILE = "queue-loaded.txt";
/** The app secret the queue container reads (rediss://:TOKEN@HOST:PORT). */
export const QUEUE_SECRET_ENV = ["REDIS_URL"] as const;
/** The export's queue container finds queueDumpCommand's line in this variable. */
export const QUEUE_DUMP_ENV = "QUEUE_DUMP_EVAL";
/** The container's name in both tasks. */
export const QUEUE_CONTAINER = "queue";
/** Where the queue container finds the CAs that sign ElastiCache's certificate (the image's bundle: Amazon's roots are in it). */
export const QUEUE_CA_FILE = "/etc/ssl/certs/ca-certificates.crt";

/** Keys a page of the dump reads (SCAN's COUNT; FT_MOVE_QUEUE_PAGE of a host's move-lib.sh). */
export const QUEUE_PAGE_KEYS = 1000;

/**
 * The EVAL command line that runs the dump program, without its two arguments (the SCAN cursor
 * and QUEUE_PAGE_KEYS; what a host's ft_move_queue_dump_command sends too): comment lines
 * dropped, lines joined with a space.
 */
export function queueDumpCommand(lua: string = fs.readFileSync(QUEUE_DUMP_LUA_PATH, "utf8")): string {
  const body = lua
    .split("\n")
    .filter((l) => !/^\s*--/.test(l))
    .join(" ");
  if (/["\\]/.test(body)) throw new Error('queue-dump.lua\'s code must hold no double quote or backslash: it is sent inside "..."');
  return `EVAL "${body}" 0`;
}

// How both scripts begin: strict, the scratch volume, a die that names the task.
const scriptHead = (task: string) => ["set -eu", `dir=\${MOVE_DIR:-${MOVE_DIR}}`, `die() { echo "${task}: job queue: $*" >&2; exit 1; }`];

// Shared by both scripts: REDIS_URL split into host, port and the token (plain [A-Za-z0-9], as
// the stack makes it), and `cli`, valkey-cli over TLS with AUTH on its stdin before the
// commands read from the function's own stdin. Prints the replies, AUTH's OK left out; fails
// when AUTH is refused.
const CONNECT = [
  ': "${REDIS_URL:?REDIS_URL is empty}"',
  "rest=${REDIS_URL#rediss://}",
  '[ "$rest" != "$REDIS_URL" ] || die "REDIS_URL is not a rediss:// (TLS) URL"',
  "pw=${rest%@*}",
  "pw=${pw#*:}",
  "hostport=${rest##*@}",
  "hostport=${hostport%%/*}",
  "host=${hostport%:*}",
  "port=${hostport##*:}",
  'case $pw in "" | *[!A-Za-z0-9]*) die "the password in REDIS_URL is not the plain [A-Za-z0-9] token the stack makes" ;; esac',
  'case $port in "" | *[!0-9]*) die "REDIS_URL names no port" ;; esac',
  `cacert=\${REDIS_CA_FILE:-${QUEUE_CA_FILE}}`,
  // valkey-cli checks the certificate's chain but not its name (hiredis): openssl, when the image
  // has it, checks that the certificate is valid for the host, under the same CAs, before the
  // token is sent.
  "if command -v openssl >/dev/null 2>&1; then",
  '  tls=$(openssl s_client -connect "$host:$port" -servername "$host" -verify_hostname "$host" -verify_return_error -CAfile "$cacert" </dev/null 2>&1) ||',
  '    die "redis at $host:$port does not show a TLS certificate valid for $host under $cacert: $(printf \'%s\\n\' "$tls" | grep -i -m 1 -E "verify|error" || true)"',
  "else",
  '  echo "job queue: no openssl in this image: the name in redis\'s certificate is not checked, its chain is" >&2',
  "fi",
  "cli() {",
  '  out=$({ printf \'AUTH "%s"\\n\' "$pw"; cat; } | valkey-cli --tls --cacert "$cacert" --sni "$host" -h "$host" -p "$port" 2>&1 | tr -d \'\\r\') || true',
  "  first=$(printf '%s\\n' \"$out\" | head -n 1)",
  '  [ "$first" = OK ] || die "redis at $host:$port refused the AUTH token or the TLS connection: $first"',
  "  printf '%s\\n' \"$out\" | tail -n +2",
  "}",
  // {keys expires} of db0 from INFO keyspace: `0 0` when empty.
  "keyspace() { printf 'INFO keyspace\\n' | cli | awk -F'[:=,]' '/^db0:/ { k = $3; e = $5 } END { printf \"%d %d\\n\", k, e }'; }",
  // The app uses database 0 only: keys elsewhere would not travel, so they stop the move.
  "others() { printf 'INFO keyspace\\n' | cli | awk -F: '/^db[0-9]+:/ && $1 != \"db0\" { print $1 }'; }",
];

/**
 * Shell of the export's queue container (valkey alpine image: busybox sh, valkey-cli). Writes
 * queue.redis and queue.txt into MOVE_DIR (queue.txt last). QUEUE_DUMP_EVAL holds the command
 * line queueDumpCommand makes; MOVE_FREEZE_STARTED (set by the run step inside a freeze) makes
 * the counts FROZEN true.
 */
export function moveQueueDumpScript(): string {
  const f = QUEUE_FILES;
  return [
    ...scriptHead("move-export"),
    `: "\${${QUEUE_DUMP_ENV}:?${QUEUE_DUMP_ENV} is empty}"`,
    ...CONNECT,
    `rm -f "$dir/${f.commands}" "$dir/${f.counts}" "$dir/.queue.out" "$dir/.queue.pages"`,
    "extra=$(others)",
    '[ -z "$extra" ] || die "redis holds keys outside database 0 ($(echo $extra)), which the app does not use and which would not travel: look at them, remove them, run the export again"',
    // Page by page (the script's header says why), until SCAN's cursor is 0 again.
    `: > "$dir/.queue.pages"`,
    "cursor=0",
    "while :; do",
    `  printf '%s %s %s\\n' "$${QUEUE_DUMP_ENV}" "$cursor" ${QUEUE_PAGE_KEYS} | cli > "$dir/.queue.out"`,
    `  read -r cursor < "$dir/.queue.out" || die "redis gave no reply to the dump"`,
    `  case $cursor in "" | *[!0-9]*) die "the dump failed: $(head -c 300 "$dir/.queue.out")" ;; esac`,
    `  tail -n +2 "$dir/.queue.out" >> "$dir/.queue.pages"`,
    '  [ "$cursor" != 0 ] || break',
    "done",
    // SCAN may return a key twice (a rehash between pages): its first copy stays.
    `awk '!seen[$2]++' "$dir/.queue.pages" > "$dir/${f.commands}"`,
    `rm -f "$dir/.queue.out" "$dir/.queue.pages"`,
    `bad=$(($(grep -cv '^RESTORE "[^" ]*" [0-9][0-9]* "[^" ]*" REPLACE$' "$dir/${f.commands}" || true)))`,
    '[ "$bad" -eq 0 ] || die "the dump is malformed: $bad lines are not a RESTORE"',
    `keys=$(($(wc -l < "$dir/${f.commands}")))`,
    `expires=$(($(awk '$3 != 0' "$dir/${f.commands}" | wc -l)))`,
    "frozen=false",
    '[ -z "${MOVE_FREEZE_STARTED:-}" ] || frozen=true',
    `printf '%s %s %s\\n' "$keys" "$expires" "$frozen" > "$dir/${f.counts}"`,
    `echo "move-export: job queue: $keys keys, $expires of them with a TTL ($(wc -c < "$dir/${f.commands}") bytes)" >&2`,
    "",
  ].join("\n");
}

/**
 * Shell of the import's queue container (the same image): unless queue.txt says `none`,
 * empties the new side's redis (no app runs here during a move) and feeds it queue.redis, then
 * writes `KEYS EXPIRES` of what redis then holds to queue-loaded.txt (or `none`).
 */
export function moveQueueLoadScript(): string {
  const f = QUEUE_FILES;
  return [
    ...scriptHead("move-import"),
    `rm -f "$dir/${QUEUE_LOADED_FILE}"`,
    // A push by an older release carries no queue: said, not failed (its report says queue null).
    `if [ ! -f "$dir/${f.counts}" ]; then`,
    `  echo "move-import: job queue: the push carries none (the old host's release predates it): the job queue here stays as it is" >&2`,
    `  echo none > "$dir/${QUEUE_LOADED_FILE}"`,
    "  exit 0",
    "fi",
    `read -r keys expires frozen < "$dir/${f.counts}" || die "$dir/${f.counts} is empty"`,
    'if [ "$keys" = none ]; then',
    '  echo "move-import: job queue: the old side ran no redis: the job queue here stays as it is" >&2',
    `  echo none > "$dir/${QUEUE_LOADED_FILE}"`,
    "  exit 0",
    "fi",
    `[ -f "$dir/${f.commands}" ] || die "$dir/${f.commands} is missing"`,
    ...CONNECT,
    `replies=$({ echo FLUSHALL; cat "$dir/${f.commands}"; } | cli)`,
    "n=$(printf '%s\\n' \"$replies\" | grep -c . || true)",
    "ok=$(printf '%s\\n' \"$replies\" | grep -cx OK || true)",
    '[ "$n" -eq "$((keys + 1))" ] && [ "$ok" -eq "$n" ] || die "redis refused some of the queue ($ok of $n replies OK): $(printf \'%s\\n\' "$replies" | grep -vx OK | head -n 3)"',
    `keyspace > "$dir/${QUEUE_LOADED_FILE}"`,
    `echo "move-import: job queue: loaded $keys keys ($expires with a TTL, the old side's counts); redis holds $(cat "$dir/${QUEUE_LOADED_FILE}")" >&2`,
    "",
  ].join("\n");
}

/** The queue container (valkey image, its uid 999, read-only root): REDIS_URL from Secrets Manager. */
export function queueMoveContainer(i: MoveTaskInput, s: { script: string; mounts: MountPoint[]; after: string }, env: { name: string; value: string }[] = []) {
  for (const name of QUEUE_SECRET_ENV) if (!i.secretArns[name]) throw new Error(`move: no Secrets Manager ARN for ${name}`);
  return {
    name: QUEUE_CONTAINER,
    image: i.redisImage,
    essential: false,
    user: "999",
    entryPoint: ["sh", "-c"],
    command: [s.script],
    environment: [{ name: "MOVE_DIR", value: MOVE_DIR }, ...env],
    secrets: QUEUE_SECRET_ENV.map((name) => ({ name, valueFrom: i.secretArns[name] })),
    mountPoints: s.mounts,
    readonlyRootFilesystem: true,
    dependsOn: [{ containerName: s.after, condition: "SUCCESS" }],
    logConfiguration: moveTaskLog(i, QUEUE_CONTAINER),
  };
}
