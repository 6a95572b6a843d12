// Scenarios 14, 16, 17 and 18: a customer moved from a vm host to a new one (moveTo vm) or to
// DigitalOcean (moveTo digitalocean), or moved and rolled back after its cutover (17), or moved
// from DigitalOcean to a vm host (18), under load, on two disposable hosts
// (lib/disposable-host.ts), each with its own Docker engine. For digitalocean the second host
// is the droplet (booted from the program's user_data, lib/do-stand-ins.ts), its database the
// managed PostgreSQL stand-in (TLS only, admin not a superuser) and its buckets the Spaces
// stand-in, each reached by its real name; in 18 the droplet is the OLD side. The OLD host is
// deployed by the program's own steps as scenario 1 does (a droplet after its user_data boot); then the program is planned for each
// phase (prepare, cutover, then retire or rollback) with the previous run's outputs as the stack's last
// deployment, and every remote step of the plan runs over real SSH in the engine's order
// (harness.ts: both hosts' steps plus the move's). The load keeps hitting the OLD address the
// whole time, as sensors do until DNS has moved. Also: a plain target change is refused and
// leaves the old host untouched.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Applier, DOMAIN, StackInput, StepError, StepReport, findSecrets, plan, publicConfigValues, secretValues, unwrap } from "../harness";
import {
  DisposableHost,
  HOSTS_NETWORK,
  hostImage,
  hostsSubnet,
  imageSeed,
  loadImages,
  onHost,
  onHostAsync,
  removeHostsNetwork,
  removeImageSeeds,
  startDisposableHost,
} from "../lib/disposable-host";
import { firewallFacts } from "../lib/firewall";
import { CRON_FILE, asCronWould, parseCronD } from "./backup-schedule";
import { LIST_BACKUPS, backupNames, rcloneAsBackup, rclonePutStdin } from "../lib/backup-rclone";
import { OffHostRemote, startOffHostRemote } from "../lib/offhost-remote";
import { Spaces, bootDroplet, publicDns, startManagedDb, startSpaces, stopManagedDb, trustCaInImage } from "../lib/do-stand-ins";
import { sh } from "../lib/docker";
import { LoadGenerator, LoadResult, Target, devEui, httpsRequest, postUplink, uplink } from "../lib/load";
import { APP_CONTRACT } from "../../../core/app-contract";
import { DB_NAME, DB_USER } from "../../../core/naming";
import { PlanResult } from "../../../scripts/lib/program";

export interface MoveDeps {
  work: string;
  programRoot: string;
  tags: Record<string, string>;
  rate: number;
  record(fig: Record<string, unknown>): void;
  check(cond: boolean, msg: string): void;
  lossFigures(load: LoadResult, stored: number): Record<string, unknown>;
  /** Every byte the steps printed (the secret scan of scenario 9 reads it). */
  outputs: string[];
}

/** The app's directory on every host of these scenarios (any absolute path: the program creates it); vmAppDir is the droplet's too. */
const APP_DIR = "/srv/freshtrack";
const ORG_SECRET = "e2e-move-org-webhook-secret-0001";
const READINGS = APP_CONTRACT.readingsTable;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");
const secs = (ms: number) => Number((ms / 1000).toFixed(1));

/** One line of Caddy's JSON error log, reduced to what is safe to print: second, message, status, method and path. */
function caddyErrorLine(line: string): string {
  try {
    const j = JSON.parse(line) as { ts?: number; msg?: string; status?: number; request?: { method?: string; uri?: string } };
    const at = j.ts ? new Date(Math.floor(j.ts) * 1000).toISOString().slice(11, 19) : "?";
    return `${at} ${j.msg ?? "?"} ${j.status ?? "-"} ${j.request?.method ?? ""} ${(j.request?.uri ?? "").split("?")[0]}`.trim();
  } catch {
    return "(not JSON)";
  }
}

/** psql as the superuser inside a host's postgres container (SQL on stdin: no quoting through three shells). */
function psqlOn(h: DisposableHost, sql: string): string {
  return onHost(
    h,
    `id=$(docker ps -q --filter label=com.docker.compose.project=freshtrack --filter label=com.docker.compose.service=postgres | head -n1); ` +
      `docker exec -i "$id" psql -U postgres -d frostguard -tA -v ON_ERROR_STOP=1 -f -`,
    { input: sql },
  ).stdout.trim();
}

/** Every container of the host's project: id, service, state and start time (a restart changes it). */
function containersOn(h: DisposableHost): string[] {
  const ids = onHost(h, "docker ps -aq --no-trunc --filter label=com.docker.compose.project=freshtrack").stdout.split("\n").filter(Boolean);
  if (!ids.length) return [];
  return onHost(h, `docker inspect -f '{{.Id}} {{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.StartedAt}}' ${ids.join(" ")}`)
    .stdout.split("\n")
    .filter(Boolean)
    .sort();
}

type Query = (sql: string) => string;

/** Row count of every table of the app's schema. */
function tableCounts(query: Query): Record<string, number> {
  const rows = query(
    `SELECT table_name || ' ' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
       FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  return Object.fromEntries(
    rows
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .map(([t, n]) => [t, Number(n)]),
  );
}

/** Frame counters of the device's readings stored on a host. */
function storedOn(query: Query, device: string): Set<number> {
  const out = query(`SELECT DISTINCT r.f_cnt FROM ${READINGS} r JOIN devices d ON d.id = r.device_id WHERE d.device_id = '${device}'`);
  return new Set(out.split("\n").filter(Boolean).map(Number));
}

/**
 * rclone as the host's bin/* run it: the release's image on the Compose network, the backup job's config.
 * The app's bucket through the host store's admin identity (`admin_remote`, as bin/restore --uploads
 * writes it): the backup identity may only read it.
 */
/** rclone on a host as bin/backup runs it ($uploads: the app's bucket, $base: the backups); base64 stdin, decoded, reaches rclone. */
function rcloneOn(h: DisposableHost, args: string) {
  return onHost(h, rcloneAsBackup(APP_DIR, args));
}

/** BYTES as the object DEST (`$uploads/…`) on a host, through its backup rclone. */
function putOn(h: DisposableHost, dest: string, bytes: Buffer) {
  return onHost(h, "base64 -d | " + rclonePutStdin(APP_DIR, dest), { input: bytes.toString("base64") });
}

function objectsOn(h: DisposableHost): { count: number; bytes: number } {
  const r = JSON.parse(rcloneOn(h, `size --json "$uploads"`).stdout) as { count: number; bytes: number };
  return { count: r.count, bytes: r.bytes };
}

/** Each upload in the app's bucket on a host, as the move compares them: path -> "md5 size". */
function uploadsOn(h: DisposableHost): Record<string, string> {
  const out = rcloneOn(h, `lsjson -R --files-only --fast-list --hash-type MD5 "$uploads"`).stdout;
  const list = JSON.parse(out) as { Path: string; Size: number; Hashes?: { md5?: string } }[];
  return Object.fromEntries(list.map((o) => [o.Path, `${o.Hashes?.md5 ?? ""} ${o.Size}`]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The uploads changeUploads rewrites or adds: what the cutover must carry. */
const CHANGED_UPLOADS = ["e2e-org/photos/cooler-0.bin", "e2e-org/photos/cooler-3.bin"];

/**
 * Of the changed uploads, those the new side already holds as the old side does (path, MD5, size):
 * a failed cutover may have carried some (its copy runs beside the restore that failed).
 */
function changedUploadsArrived(oldHost: DisposableHost, newHost: DisposableHost): { count: number; bytes: number } {
  const [a, b] = [uploadsOn(oldHost), uploadsOn(newHost)];
  const arrived = CHANGED_UPLOADS.filter((p) => a[p] !== undefined && a[p] === b[p]);
  return { count: arrived.length, bytes: arrived.reduce((n, p) => n + Number(a[p].split(" ")[1]), 0) };
}

/**
 * The uploads change between the prepare and the cutover, as the app's do: one rewritten with the
 * same size, one added (CHANGED_UPLOADS), one deleted. What the cutover must carry: the first two.
 */
function changeUploads(d: { check: (ok: boolean, what: string) => void }, h: DisposableHost): { count: number; bytes: number } {
  const put = (name: string, size: number, seed: number) => {
    const bytes = Buffer.from(Array.from({ length: size }, (_, j) => (j * 7 + seed) % 256));
    const r = putOn(h, `"$uploads/e2e-org/photos/${name}"`, bytes);
    d.check(r.code === 0, `cannot put ${name} on the old host: ${r.stderr}`);
  };
  put(path.basename(CHANGED_UPLOADS[0]), 4096, 101);
  put(path.basename(CHANGED_UPLOADS[1]), 5000, 3);
  const del = rcloneOn(h, `deletefile "$uploads/e2e-org/photos/cooler-2.bin"`);
  d.check(del.code === 0, `cannot delete cooler-2.bin on the old host: ${del.stderr}`);
  return { count: 2, bytes: 4096 + 5000 };
}

/** Redis commands on a host's stack, AUTH on valkey-cli's stdin from the live secret file: the replies after AUTH's OK. */
function redisOn(h: DisposableHost, commands: string[]): string[] {
  const cmd = [
    "id=$(docker ps -q --filter label=com.docker.compose.service=redis | head -n1)",
    `pw=$(cat ${APP_DIR}/secrets/redis/password); pw=\${pw//\\\\/\\\\\\\\}; pw=\${pw//\\"/\\\\\\"}`,
    `{ printf 'AUTH "%s"\\n' "$pw"; cat; } | docker exec -i "$id" valkey-cli`,
  ].join("; ");
  const r = onHost(h, cmd, { input: commands.join("\n") + "\n", allowFail: true });
  return r.stdout.replace(/\r/g, "").split("\n").filter(Boolean).slice(1);
}

/** Jobs that wait in a side's queue when a copy starts: three waiting ones (a list) and a delayed one (a key with a TTL). */
function queueJobsOn(h: DisposableHost, tag: string): void {
  redisOn(h, [`RPUSH freshtrack:e2e:waiting-${tag} ${tag}-1 ${tag}-2 ${tag}-3`, `SET freshtrack:e2e:delayed-${tag} due PX 3600000`]);
}

/** The jobs queueJobsOn(tag) put on the other side, as this side's redis holds them. */
function queuedJobsOn(h: DisposableHost, tag: string): { waiting: string[]; delayed_ttl_ms: number } {
  const lines = redisOn(h, [`LRANGE freshtrack:e2e:waiting-${tag} 0 -1`, `PTTL freshtrack:e2e:delayed-${tag}`]);
  return { waiting: lines.slice(0, -1), delayed_ttl_ms: Number(lines[lines.length - 1]) };
}

/** The hold in metrics/move.prom ("standby 1", "frozen 1", "none 0"), or "absent": what the alert rules read. */
/** Whether the app answers its health check through `target` within `seconds`. */
async function healthyWithin(target: Target, seconds: number): Promise<boolean> {
  try {
    await waitHealthy(target, seconds);
    return true;
  } catch {
    return false;
  }
}

/** The running containers of a Compose service on a host (ids). */
function runningService(h: DisposableHost, service: string): string[] {
  return onHost(h, `docker ps -q --filter label=com.docker.compose.project=freshtrack --filter label=com.docker.compose.service=${service}`, {
    allowFail: true,
  })
    .stdout.split("\n")
    .filter(Boolean);
}

function moveHold(h: DisposableHost): string {
  const text = onHost(h, `cat ${APP_DIR}/metrics/move.prom 2>/dev/null`, { allowFail: true }).stdout;
  const m = /^freshtrack_move_app_held\{state="(\w+)"\} ([01])$/m.exec(text);
  return m ? `${m[1]} ${m[2]}` : "absent";
}

/** The last lines of each app container the freeze stopped (time-stamped by Docker), and who is who on the stack's networks: what a slow stop waited on. */
function frozenAppLog(h: DisposableHost): string[] {
  const cmd = `for c in $(sort -u ${APP_DIR}/state/move-frozen-app); do n=$(docker inspect -f '{{.Name}}' "$c"); docker logs -t --tail 40 "$c" 2>&1 | sed "s|^|\${n#/} |"; done; for n in $(docker network ls -q --filter label=com.docker.compose.project=freshtrack); do docker network inspect -f '{{.Name}}:{{range .Containers}} {{.Name}}={{.IPv4Address}}{{end}}' "$n"; done`;
  return onHost(h, cmd, { allowFail: true }).stdout.split("\n").filter(Boolean);
}

/** The backups in a host's backups store (release.json .backup), by name, listed as bin/backup's rclone sees them. */
async function backupsOn(h: DisposableHost): Promise<string[]> {
  const r = await onHostAsync(h, rcloneAsBackup(APP_DIR, LIST_BACKUPS));
  if (r.code !== 0) throw new Error(`cannot list the backups on ${h.name}: ${r.stderr}`);
  return backupNames(r.stdout);
}

/** A cron run of the backup on a side (scheduledBackupOn). */
interface ScheduledRun {
  exit: number;
  audit: string;
  new_backups: number;
}

/** A side's first backup once it took over (firstBackupOn). */
interface FirstBackup {
  name: unknown;
  in_store: boolean;
  log?: string[];
}

/** The new side's install backup (bin/deploy's bin/backup --first) after the prepare (installBackupOn). */
interface InstallBackup {
  name: string | null;
  in_store: boolean;
  store_newest: string | null;
}

/** What the move did with backups on both hosts (recorded as backups_during_move). */
interface MoveBackups {
  /** vm -> vm: both hosts back up to the stack's one off-host bucket. */
  shared_store: boolean;
  old_side_install?: InstallBackup;
  new_side_install?: InstallBackup;
  /** Shared store: the new host's deploy said the place already holds this many backups (and took none). */
  new_side_install_found_backups?: number | null;
  /** Shared store: both hosts list the same backups after the prepare. */
  same_backups_seen_from_both?: boolean;
  /** The retire's final dump of the old side (move-final-backup), kept in the old side's store. */
  old_side_final_backup?: FirstBackup;
  /** Shared store, after the retire: the new host's `bin/restore --check` by default. */
  new_side_restore_by_default?: RestoreByDefault;
  new_side_scheduled_while_standby?: ScheduledRun;
  new_side_first_backup?: FirstBackup;
  old_side_scheduled_while_frozen?: ScheduledRun;
  old_side_first_backup_after_rollback?: FirstBackup;
}

/**
 * The installed cron entry of the backup (bin/install-schedule), run now as cron runs it (its
 * user, cron's environment; nothing here blocks the load generator): its exit code, the audit
 * line it wrote, and how many backups appeared in the host's store.
 */
async function scheduledBackupOn(h: DisposableHost): Promise<ScheduledRun> {
  const before = await backupsOn(h);
  const { env, entries } = parseCronD((await onHostAsync(h, `cat ${CRON_FILE}`)).stdout);
  const entry = entries.find((e) => / \S+\/current\/bin\/backup /.test(` ${e.command} `));
  if (!entry) throw new Error(`no backup entry in ${CRON_FILE} on ${h.name}`);
  const r = await onHostAsync(h, asCronWould(entry, env));
  const audit = (await onHostAsync(h, `tail -n1 ${APP_DIR}/state/audit.log`)).stdout.trim();
  return { exit: r.code, audit, new_backups: (await backupsOn(h)).length - before.length };
}

/**
 * A move-import step's first backup: its report's name and whether the host's store has it; when
 * there is none, the step's last log lines about it (bin/backup logs no secret).
 */
async function firstBackupOn(h: DisposableHost, reports: StepReport[], step: string): Promise<FirstBackup> {
  const name = importReport(reports, step)?.first_backup ?? null;
  if (typeof name === "string") return { name, in_store: (await backupsOn(h)).includes(name) };
  const stderr = reports.find((r) => r.name === step)?.stderr ?? "";
  return {
    name,
    in_store: false,
    log: stderr
      .split("\n")
      .filter((l) => /backup|pg_dump|rclone|age/.test(l))
      .slice(-12),
  };
}

/** What `bin/restore --check` picked by default on a host, and what it passed over. */
interface RestoreByDefault {
  exit: number;
  picked: string | null;
  passed_over: string[];
}

async function restoreByDefaultOn(h: DisposableHost): Promise<RestoreByDefault> {
  const r = await onHostAsync(h, `${APP_DIR}/current/bin/restore --check`);
  return {
    exit: r.code,
    picked: /backup: \S+\/(frostguard-\d{8}T\d{6}Z)$/m.exec(r.stderr)?.[1] ?? null,
    passed_over: [...r.stderr.matchAll(/passing over (frostguard-\d{8}T\d{6}Z)/g)].map((m) => m[1]),
  };
}

/** The old side's final dump at the retire: the name move-final-backup printed (bin/backup's stdout), and whether its store has it. */
async function finalBackupOn(h: DisposableHost, reports: StepReport[]): Promise<FirstBackup> {
  const r = reports.find((x) => x.name === "move-final-backup");
  const name = r?.stdout.trim().split("\n").at(-1) ?? null;
  if (!name || !/^frostguard-\d{8}T\d{6}Z$/.test(name)) return { name, in_store: false, log: (r?.stderr ?? "").split("\n").slice(-12) };
  return { name, in_store: (await backupsOn(h)).includes(name) };
}

/** The install's first backup a side's deploy took (audit reason first-deploy), and its store's newest backup. */
async function installBackupOn(h: DisposableHost): Promise<InstallBackup> {
  const audit = (await onHostAsync(h, `grep -h '"reason":"first-deploy"' ${APP_DIR}/state/audit.log || true`)).stdout;
  const line = audit.split("\n").find((l) => l.includes('"result":"success"'));
  const name = line ? ((JSON.parse(line) as { backup?: string }).backup ?? null) : null;
  const stored = await backupsOn(h);
  return { name, in_store: !!name && stored.includes(name), store_newest: stored.at(-1) ?? null };
}

function saltDigest(h: DisposableHost): string {
  return onHost(h, `sha256sum < ${APP_DIR}/secrets/app/TTN_ENCRYPTION_SALT | cut -c1-64`).stdout.trim();
}

/** The move-import report (last JSON line of a step's stdout). */
function importReport(reports: StepReport[], step: string): Record<string, unknown> | undefined {
  const r = reports.find((x) => x.name === step);
  const line = r?.stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

async function waitHealthy(t: Target, timeoutS: number): Promise<void> {
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    const r = await httpsRequest(t, "GET", "/health", undefined, undefined, 3000).catch(() => ({ status: 0 }));
    if (r.status === 200) return;
    if (Date.now() > end) throw new Error(`https://${t.address}/health not 200 within ${timeoutS} s`);
    await sleep(500);
  }
}

/** The side the customer moves to: how the move is configured, and where its data is read. */
interface NewSide {
  /** SQL on the new side's app database, as a superuser. */
  query: Query;
  /** Config of the move in a phase (`pulumi config set` equivalents). */
  moveKeys(phase: string): Pick<StackInput, "extraConfig" | "extraSecrets">;
  /** What the engine and the provider functions would return for the new side's resources. */
  extras: Pick<StackInput, "stateOutputs" | "invokeResults">;
  /** After the prepare plan, before its steps: what the cloud does when it creates the new side. */
  create?(p: PlanResult): Promise<Record<string, unknown>>;
  /** After the move: what must hold on this kind of side (figures, and problems found). */
  facts?(): { figures: Record<string, unknown>; problems: string[] };
  stop(): void;
}

/**
 * A vm host as the new side. From a vm the move names it by the moveVm* keys (by its DNS name when
 * `byName`, as operators often do); from another target the stack's own vm* keys do (the harness
 * sets them from StackInput.host: oldSide.stackHost).
 */
function vmSide(newHost: DisposableHost, fromVm: boolean, byName = false, egress?: string): NewSide {
  return {
    query: (sql) => psqlOn(newHost, sql),
    moveKeys: (phase): Pick<StackInput, "extraConfig" | "extraSecrets"> =>
      fromVm
        ? {
            extraConfig: {
              moveTo: "vm",
              movePhase: phase,
              moveVmHost: byName ? newHost.dnsName : newHost.host,
              moveVmPort: "22",
              moveVmUser: "root",
              moveVmHostKey: newHost.hostKeyLine,
              ...(egress ? { moveVmEgressAddress: egress } : {}),
            },
            extraSecrets: { moveVmSshPrivateKey: newHost.privateKey },
          }
        : { extraConfig: { moveTo: "vm", movePhase: phase } },
    extras: {},
    stop: () => undefined,
  };
}

/** A real ED25519 key as the tls provider keeps it in state (the mocks would invent an unusable one). */
function sshKeyPair(file: string): { privateKeyOpenssh: string; publicKeyOpenssh: string } {
  // A fresh key per scenario (an earlier scenario of the run may have left one here).
  for (const f of [file, `${file}.pub`]) fs.rmSync(f, { force: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file], { stdio: "ignore" });
  return {
    privateKeyOpenssh: fs.readFileSync(file, "utf8"),
    publicKeyOpenssh: fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ") + "\n",
  };
}

const DO_REGION = "fra1";
/** Containers of the move scenarios (hosts and DigitalOcean stand-ins): also removed by removeMoveLeftovers. */
const NAMES = {
  old: "freshtrack-e2e-old",
  new: "freshtrack-e2e-new",
  droplet: "freshtrack-e2e-droplet",
  db: "freshtrack-e2e-dodb",
  spaces: "freshtrack-e2e-spaces",
  offhost: "freshtrack-e2e-move-offhost",
};
const DO_DB = {
  host: "private-freshtrack-e2e-db-do-user-1-0.b.db.ondigitalocean.com",
  port: 25060,
  user: "doadmin",
  password: "E2ESECRETdoadminpassword0001X",
};
const DO_KEYS = {
  app: { accessKey: "E2EDOAPPSPACESKEY", secretKey: "E2ESECRETdoappspaces0001X" },
  backup: { accessKey: "E2EDOBACKUPSPACESKEY", secretKey: "E2ESECRETdobackupspaces0001X" },
};

/** The side the customer moves from: how the stack names it, how it is created, and where its data is read. */
interface OldSide {
  /** The host the stack's vm* keys name (StackInput.host): the old vm, or the new vm host of a move off digitalocean. */
  stackHost: DisposableHost;
  /** Config naming the old side besides the vm* keys (`pulumi config set` equivalents). */
  config: Record<string, string>;
  extras: Pick<StackInput, "stateOutputs" | "invokeResults">;
  /** SQL on the old side's app database, as a superuser. */
  query: Query;
  /** After the first plan, before its steps: what the cloud does when it creates the old side. */
  create?(p: PlanResult): Promise<Record<string, unknown>>;
  /** After the old side's deploy, while it serves: what must hold on this kind of side. */
  facts?(): { figures: Record<string, unknown>; problems: string[] };
  stop(): void;
}

/** A vm host as the old side; vmFirewall on, as an operator's host should be (it covers the new vm host of vm -> vm too). */
function vmOldSide(oldHost: DisposableHost, egress?: string): OldSide {
  const config = { vmFirewall: "true", ...(egress ? { vmEgressAddress: egress } : {}) };
  return { stackHost: oldHost, config, extras: {}, query: (sql) => psqlOn(oldHost, sql), stop: () => undefined };
}

/** The from= of the move's pull key on `h` (sshd matches it against the client's address). */
function pullKeyFrom(h: DisposableHost): string | null {
  const line = onHost(h, "grep ' freshtrack-move$' /root/.ssh/authorized_keys", { allowFail: true }).stdout;
  return /from="([^"]*)"/.exec(line)?.[1] ?? null;
}

/** A droplet (the stand-ins below), either side of a move. */
type DropletStandIn = Required<Pick<NewSide, "query" | "extras" | "create" | "facts" | "stop">> & { doConfig: Record<string, string> };

function dropletNewSide(droplet: DisposableHost, d: MoveDeps): NewSide {
  const s = dropletStandIn(droplet, d, ["198.51.100.7/32"]);
  return { ...s, moveKeys: (phase) => ({ extraConfig: { moveTo: "digitalocean", movePhase: phase, ...s.doConfig } }) };
}

/** 18: the droplet is the old side; the stack's vm* keys name the new vm host from the start (runbook digitalocean → vm, step 1). */
function dropletOldSide(droplet: DisposableHost, newHost: DisposableHost, d: MoveDeps): OldSide {
  // The new host pulls from the droplet over SSH: its address is in doSshCidrs before the move (runbook step 2).
  const s = dropletStandIn(droplet, d, [`${newHost.host}/32`, "198.51.100.7/32"]);
  // vmFirewall: the new vm host's (the droplet has DigitalOcean's cloud firewall instead).
  return { ...s, stackHost: newHost, config: { target: "digitalocean", vmFirewall: "true", ...s.doConfig } };
}

/**
 * The droplet on a disposable host: the program's droplet and reserved IP resolve to its address,
 * its host key and deploy key are real keys in the engine's state, the cluster's outputs and CA
 * point at the managed database stand-in, and Spaces is the stand-in under its real name.
 */
function dropletStandIn(droplet: DisposableHost, d: MoveDeps, sshCidrs: string[]): DropletStandIn {
  const keysDir = path.join(d.work, "hosts", "droplet-keys");
  fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const deployKey = sshKeyPair(path.join(keysDir, "deploy-key"));
  const hostKey = sshKeyPair(path.join(keysDir, "droplet-host-key"));
  const db = startManagedDb({
    name: NAMES.db,
    host: DO_DB.host,
    port: DO_DB.port,
    adminUser: DO_DB.user,
    adminPassword: DO_DB.password,
    // Its server: the postgres stand-in's own, as a doDbVersion 16 cluster matches postgres:16 (startManagedDb).
    image: d.tags.postgres,
  });
  let spaces: Spaces | undefined;
  return {
    query: (sql) => db.query(sql, DB_NAME),
    doConfig: { doRegion: DO_REGION, doManageDns: "false", doSshCidrs: JSON.stringify(sshCidrs) },
    extras: {
      stateOutputs: {
        "tls:index/privateKey:PrivateKey::deploy-key": deployKey,
        "tls:index/privateKey:PrivateKey::droplet-host-key": hostKey,
        "digitalocean:index/droplet:Droplet::droplet": { ipv4Address: droplet.host },
        "digitalocean:index/reservedIp:ReservedIp::reserved-ip": { ipAddress: droplet.host },
        "digitalocean:index/databaseCluster:DatabaseCluster::db": { privateHost: DO_DB.host, port: DO_DB.port, user: DO_DB.user, password: DO_DB.password },
        "digitalocean:index/spacesKey:SpacesKey::app-spaces-key": DO_KEYS.app,
        "digitalocean:index/spacesKey:SpacesKey::backup-spaces-key": DO_KEYS.backup,
      },
      invokeResults: { "digitalocean:index/getDatabaseCa:getDatabaseCa": { certificate: db.caPem } },
    },
    async create(p) {
      const bucket = (name: string) =>
        String(p.resources.find((r) => r.type === "digitalocean:index/spacesBucket:SpacesBucket" && r.name === name)?.inputs.name);
      const assets = bucket("assets");
      const backups = bucket("backups");
      // DigitalOcean's grants: readwrite = read, write (and delete), list, on that bucket.
      const rw = (...buckets: string[]) => buckets.flatMap((b) => ["Read", "Write", "List"].map((a) => `${a}:${b}`));
      spaces = startSpaces({
        name: NAMES.spaces,
        region: DO_REGION,
        image: d.tags.objectstore,
        rcloneImage: d.tags.rclone,
        keys: [
          { ...DO_KEYS.app, actions: rw(assets) },
          { ...DO_KEYS.backup, actions: rw(backups, assets) },
        ],
        buckets: [assets, backups],
      });
      // The droplet's images trust the CA that signs Spaces' certificate, as real images trust public roots.
      trustCaInImage(droplet, d.tags.rclone, spaces.caPem);
      // DatabaseDb and DatabaseUser: DigitalOcean creates them before the push (through doadmin).
      db.query(`SET ROLE ${DO_DB.user};\nCREATE DATABASE ${DB_NAME};\nCREATE ROLE ${DB_USER} LOGIN PASSWORD 'digitalocean-generated-unused';`);
      const dropletRes = p.resources.find((r) => r.type === "digitalocean:index/droplet:Droplet" && r.name === "droplet");
      const userData = unwrap(dropletRes?.inputs.userData) as string;
      publicDns(droplet);
      const boot = bootDroplet(droplet, userData, [deployKey.publicKeyOpenssh.trim()]);
      return {
        droplet_first_boot: boot.runcmd,
        spaces_buckets: [assets, backups],
        managed_db: `${DO_DB.host}:${DO_DB.port} (PostgreSQL 15 of the postgres stand-in, TLS only, ${DO_DB.user} without SUPERUSER)`,
      };
    },
    facts() {
      const services = onHost(droplet, "docker ps --format '{{.Label \"com.docker.compose.service\"}}' | sort -u", { allowFail: true })
        .stdout.split("\n")
        .filter(Boolean);
      const roles = db.query(`SELECT rolname || ' ' || rolsuper FROM pg_roles WHERE rolname IN ('${DO_DB.user}', '${DB_USER}') ORDER BY 1`).split("\n");
      const plainConnections = Number(
        db.query(
          "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.backend_type = 'client backend' AND a.usename <> 'postgres' AND NOT s.ssl",
        ),
      );
      const appConnections = Number(db.query(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${DB_USER}'`));
      const problems: string[] = [];
      if (services.includes("postgres") || services.includes("objectstore"))
        problems.push(`the droplet runs its own ${services.join(", ")}: the managed database and Spaces must be used`);
      if (!services.includes("pgbouncer") || !services.includes("backend")) problems.push(`the droplet does not serve: ${services.join(", ")}`);
      if (roles.join(",") !== `${DO_DB.user} false,${DB_USER} false`)
        problems.push(`roles on the managed database: ${roles.join(", ")} (neither may be a superuser)`);
      if (plainConnections !== 0) problems.push(`${plainConnections} connections to the managed database without TLS`);
      if (appConnections === 0) problems.push("the app has no connection to the managed database");
      return {
        figures: {
          droplet_services: services,
          managed_db_roles: roles,
          managed_db_app_connections: appConnections,
          managed_db_connections_without_tls: plainConnections,
        },
        problems,
      };
    },
    stop() {
      spaces?.stop();
      db.stop();
    },
  };
}

/** After an interrupted run (a signal skips the scenarios' own clean-up): hosts, stand-ins, this machine's PostgreSQL of the managed database. */
export function removeMoveLeftovers(): void {
  stopManagedDb(NAMES.db);
  for (const name of [NAMES.old, NAMES.new, NAMES.droplet, NAMES.spaces, NAMES.offhost]) sh("docker", ["rm", "-f", "-v", name], { allowFail: true });
  removeHostsNetwork();
  removeImageSeeds();
}

export const moveVmToVm = (d: MoveDeps) => move(d, "vm", "vm", "retire");
export const moveVmToDigitalOcean = (d: MoveDeps) => move(d, "vm", "digitalocean", "retire");
/** Scenario 17: the same move rolled back after its cutover (movePhase rollback): the old side serves again, with every reading. */
export const moveVmToVmRolledBack = (d: MoveDeps) => move(d, "vm", "vm", "rollback");
/** Scenario 18: off a droplet (managed database, Spaces) onto a vm host. */
export const moveDigitalOceanToVm = (d: MoveDeps) => move(d, "digitalocean", "vm", "retire");

async function move(d: MoveDeps, from: "vm" | "digitalocean", to: "vm" | "digitalocean", end: "retire" | "rollback"): Promise<Record<string, unknown>> {
  const rollback = end === "rollback";
  const tHosts = Date.now();
  const image = hostImage();
  const images = [...new Set(Object.values(d.tags))];
  // Both hosts start with every image (loaded once per run into a seed), as after a pull.
  const seed = await imageSeed(image, images);
  const oldHost = await startDisposableHost(from === "vm" ? NAMES.old : NAMES.droplet, path.join(d.work, "hosts", "old"), image, seed);
  const newHost = await startDisposableHost(to === "vm" ? NAMES.new : NAMES.droplet, path.join(d.work, "hosts", "new"), image, seed);
  let side: NewSide | undefined;
  let old: OldSide | undefined;
  let remote: OffHostRemote | undefined;
  try {
    // vm -> vm: both hosts back up to the stack's one off-host bucket, as a real vm stack must
    // (the moveVm* host gets the stack's vmBackupRemote*); its own S3 server, empty at first.
    if (from === "vm" && to === "vm")
      remote = await startOffHostRemote(d.tags.objectstore, path.join(d.work, "hosts", "offhost"), {
        name: NAMES.offhost,
        bucket: "acme-moved-backups",
        network: HOSTS_NETWORK,
      });
    await loadImages([oldHost, newHost], images);
    // vm -> vm retired (scenario 14) names the new host by its DNS name; rolled back (17), by its
    // address, with both hosts' egress given as the hosts' network (vmEgressAddress,
    // moveVmEgressAddress: hosts behind a NAT).
    const byName = from === "vm" && to === "vm" && !rollback;
    // Scenario 14's first cutover fails after the old side froze (the new host's database is
    // stopped): the old side must serve again, every reading kept; the second cutover succeeds.
    const failFirstCutover = from === "vm" && to === "vm" && !rollback;
    const egress = from === "vm" && to === "vm" && rollback ? hostsSubnet() : undefined;
    old = from === "vm" ? vmOldSide(oldHost, egress) : dropletOldSide(oldHost, newHost, d);
    side = to === "vm" ? vmSide(newHost, from === "vm", byName, egress) : dropletNewSide(newHost, d);
    d.record({ hosts: { old: oldHost.host, new: newHost.host, image, seconds_to_start_and_load_images: secs(Date.now() - tHosts) } });

    const applier = new Applier();
    // The move's transfer key as the tls provider keeps it in state: one real ED25519 key for every phase.
    const transferKey = sshKeyPair(path.join(d.work, "hosts", "move-transfer-key"));
    let stack: StackInput = {
      host: old.stackHost,
      appDir: APP_DIR,
      tags: d.tags,
      extraConfig: old.config,
      ...(remote ? { backupRemote: remote.stackRemote } : {}),
      stateOutputs: { "tls:index/privateKey:PrivateKey::move-transfer-key": transferKey, ...old.extras.stateOutputs, ...side.extras.stateOutputs },
      invokeResults: { ...old.extras.invokeResults, ...side.extras.invokeResults },
    };
    let last: PlanResult | undefined;
    // Every plan, and every byte printed from here on (d.outputs): this scenario's own secret scan (step 6).
    const plans: { plan: PlanResult; publicValues: string[] }[] = [];
    const printedFrom = d.outputs.length;
    const planFor = async (change: Partial<StackInput>) => {
      stack = { ...stack, ...change };
      last = await plan(stack, d.work, d.programRoot);
      plans.push({ plan: last, publicValues: publicConfigValues(stack) });
      return last;
    };
    const apply = async (p: PlanResult) => {
      try {
        const r = await applier.apply(p);
        for (const x of r) d.outputs.push(x.stdout, x.stderr);
        return r;
      } catch (e) {
        if (e instanceof StepError) console.error(`--- ${e.step} stdout ---\n${e.stdout.slice(-4000)}\n--- ${e.step} stderr ---\n${e.stderr.slice(-4000)}`);
        throw e;
      }
    };

    // 1. The old host, deployed as any vm host is (a droplet: created and booted from its user_data first).
    let t0 = Date.now();
    const deployPlan = await planFor({});
    if (old.create) d.record({ old_side: await old.create(deployPlan) });
    await apply(deployPlan);
    const deployS = secs(Date.now() - t0);
    // What the move does with backups on both hosts, from the old side's install on (checked in step 5).
    const backups: MoveBackups = { shared_store: !!remote, old_side_install: await installBackupOn(oldHost) };
    let ca = "";
    for (let i = 0; i < 30 && !ca.includes("BEGIN CERTIFICATE"); i++) {
      ca = onHost(
        oldHost,
        `docker exec $(docker ps -q --filter label=com.docker.compose.project=freshtrack --filter label=com.docker.compose.service=caddy) cat /data/caddy/pki/authorities/local/root.crt`,
        { allowFail: true },
      ).stdout;
      if (!ca.includes("BEGIN CERTIFICATE")) await sleep(1000);
    }
    d.check(ca.includes("BEGIN CERTIFICATE"), "the old host's Caddy root certificate did not appear");
    // The sensors' address: the OLD host, the whole time (DNS is not changed in this test).
    const target: Target = { address: oldHost.host, port: 443, ca, apiKey: ORG_SECRET };
    await waitHealthy(target, 120);
    old.query(`INSERT INTO organizations (name, webhook_secret_hash) VALUES ('e2e-move-org', '${sha256(ORG_SECRET)}') ON CONFLICT DO NOTHING`);
    const device = `s14-move-${Date.now()}`;
    old.query(
      `INSERT INTO devices (organization_id, device_id, dev_eui) SELECT id, '${device}', '${devEui(device)}' FROM organizations WHERE webhook_secret_hash = '${sha256(ORG_SECRET)}'`,
    );
    const first = await postUplink(target, uplink(device, 0));
    d.check(first.status >= 200 && first.status < 300, `a reading on the old host: ${first.status} ${first.body}`);
    // Uploads of the app (every byte value), in the old side's bucket.
    for (const [i, size] of [4096, 70000, 1].entries()) {
      const bytes = Buffer.from(Array.from({ length: size }, (_, j) => (j * 31 + i) % 256));
      const put = putOn(oldHost, `"$uploads/e2e-org/photos/cooler-${i}.bin"`, bytes);
      d.check(put.code === 0, `cannot put an upload on the old host: ${put.stderr}`);
    }
    d.record({ old_host_deploy_seconds: deployS });
    // Every vm host of these scenarios runs with vmFirewall: checked by what reaches it.
    const firewall = async (what: string, h: DisposableHost) => {
      const f = await firewallFacts(h);
      d.record({ [what]: f.figures });
      for (const problem of f.problems) d.check(false, `${what}: ${problem}`);
    };
    if (from === "vm") await firewall("old_host_firewall", oldHost);
    if (old.facts) {
      const f = old.facts();
      d.record({ old_side_serving: f.figures });
      for (const problem of f.problems) d.check(false, `old side: ${problem}`);
    }

    // 2. A plain target change is refused before anything runs; the old host is untouched.
    const deployed = last!.outputs;
    const before = containersOn(oldHost);
    const other = from === "vm" ? "digitalocean" : "vm";
    const changed: Record<string, string> =
      from === "vm" ? { target: other, doManageDns: "false", doSshCidrs: JSON.stringify(["198.51.100.7/32"]) } : { ...old.config, target: other };
    const refusedAs = new RegExp(`target changed from ${from} \\(deployed\\) to ${other}`);
    let refusal = "";
    try {
      await plan({ ...stack, extraConfig: changed, previousOutputs: deployed }, d.work, d.programRoot);
    } catch (e) {
      refusal = (e as Error).message;
    }
    const after = containersOn(oldHost);
    const refusalLine = refusal.split("\n").find((l) => /target changed from/.test(l)) ?? refusal.slice(0, 300);
    d.record({
      plain_target_change: {
        refused: refusedAs.test(refusal),
        message: refusalLine,
        old_host_containers_unchanged: JSON.stringify(before) === JSON.stringify(after),
        containers: before.length,
      },
    });
    d.check(refusedAs.test(refusal), `a plain target change was not refused: ${refusal.slice(0, 500) || "the program planned it"}`);
    d.check(before.length > 0 && JSON.stringify(before) === JSON.stringify(after), "the refused target change changed containers on the old host");

    // 3. The move, phase by phase, under load at the OLD address.
    const newSide = side;
    const oldConfig = old.config;
    const moveKeys = (phase: string) => {
      const k = newSide.moveKeys(phase);
      return { extraConfig: { ...oldConfig, ...k.extraConfig }, extraSecrets: { ...k.extraSecrets } };
    };
    const gen = new LoadGenerator(target, device, d.rate);
    const phases: Record<string, { seconds: number; steps_run: string[] }> = {};
    // After each phase: each side's hold as its node-exporter would report it (docs/observability.md).
    const holds: Record<string, { old: string; new: string }> = {};
    let cutoverReport: Record<string, unknown> | undefined;
    const egressFrom: { egress?: string; old_host_accepts_pull_from?: string | null; new_host_accepts_copy_back_from?: string | null } = { egress };
    let newHostByName: { move_vm_host: string; resolved_on_old_host: string; authorized_from: string | null } | undefined;
    let prepareReport: Record<string, unknown> | undefined;
    let rollbackReport: Record<string, unknown> | undefined;
    // bin/move-forward --to: the new side's health through its public address (the app's host name, TLS verified).
    let newSideHealth: { status?: number; url?: string; via?: string; seconds?: number } | undefined;
    let lastBeforeForward = 0;
    /** What of the uploads changed between prepare and cutover: all the cutover may carry. */
    let uploadsToTravel: { count: number; bytes: number } | undefined;
    /** Of those, what a failed first cutover already carried (scenario 14): the cutover that serves carries the rest. */
    let carriedByFailedCutover = { count: 0, bytes: 0 };
    let cutoverLog: string[] = [];
    let oldAppStopLog: string[] = [];
    /** The job queue (redis) at each copy with a freeze: the report's counts, and the probe jobs on the receiving side. */
    const jobQueue: Record<string, { report: unknown; equal: unknown; jobs_on_new_side?: unknown; jobs_on_old_side?: unknown }> = {};
    /**
     * The cutover with the new host's database stopped: its import fails at the restore, after the
     * old side froze. The old side must end its freeze (bin/move-import's exit), serve again and
     * answer what its holder kept; the new app must stay stopped. Then the database starts again.
     */
    const failCutoverOnce = async (p: PlanResult): Promise<Record<string, unknown>> => {
      const pg = runningService(newHost, "postgres");
      d.check(pg.length === 1, `the new host runs ${pg.length} postgres containers, not 1`);
      onHost(newHost, `docker stop ${pg.join(" ")}`);
      const t = Date.now();
      let failedStep = "";
      let error = "";
      try {
        await apply(p);
      } catch (e) {
        failedStep = e instanceof StepError ? e.step : "";
        error =
          e instanceof StepError
            ? `${e.stderr}`
                .split("\n")
                .filter((l) => /ERROR|failed|freeze/.test(l))
                .slice(-6)
                .join("\n")
            : String(e);
      }
      const seconds = secs(Date.now() - t);
      const oldAnswers = await healthyWithin(target, 60);
      carriedByFailedCutover = changedUploadsArrived(oldHost, newHost);
      const facts = {
        failed_step: failedStep || null,
        seconds,
        old_side: {
          backend_running: runningService(oldHost, "backend").length > 0,
          worker_running: runningService(oldHost, "worker").length > 0,
          forwards: onHost(oldHost, `test -e ${APP_DIR}/state/proxy/move.forward && echo yes || echo no`).stdout.trim() === "yes",
          answers_health: oldAnswers,
          frozen_app_recorded: onHost(oldHost, `test -s ${APP_DIR}/state/move-frozen-app && echo yes || echo no`).stdout.trim() === "yes",
        },
        new_side_worker_running: runningService(newHost, "worker").length > 0,
        changed_uploads_already_on_new_side: carriedByFailedCutover,
        readings_sent_so_far: gen.lastSent,
        error,
      };
      d.record({ failed_first_cutover: facts });
      d.check(
        failedStep === "move-cutover",
        `the cutover with the new database stopped did not fail in move-cutover: ${failedStep || error || "it succeeded"}`,
      );
      d.check(
        facts.old_side.backend_running && facts.old_side.worker_running && !facts.old_side.forwards && oldAnswers && !facts.old_side.frozen_app_recorded,
        `after the failed cutover the old side does not serve again: ${JSON.stringify(facts.old_side)}`,
      );
      d.check(!facts.new_side_worker_running, "after the failed cutover the new side's worker runs");
      onHost(newHost, `docker start ${pg.join(" ")}`);
      for (let i = 0; i < 60; i++) {
        if (onHost(newHost, `docker exec ${pg[0]} pg_isready -q`, { allowFail: true }).code === 0) break;
        await sleep(1000);
      }
      // A cutover more than a few seconds after the freeze ended, as an operator's re-run would be.
      await sleep(5000);
      return facts;
    };
    /**
     * The cutover run again after that failure, its deploying machine cut off once the old side's
     * freeze began (the SSH connection closed, as by a laptop shut or an interrupted pulumi up).
     * Nobody runs anything for a while: the new host's import must finish alone, serve, and have
     * the old side hand over. Then pulumi up runs again: the step reports that run, no new copy.
     */
    let cutCutover: Record<string, unknown> | undefined;
    const cutCutoverOnce = async (p: PlanResult): Promise<void> => {
      const t = Date.now();
      let failedStep = "";
      try {
        await applier.apply(p, { cut: { step: "move-cutover", when: /write freeze: stopping backend and worker/ } });
      } catch (e) {
        failedStep = e instanceof StepError ? e.step : String(e);
      }
      const cutAfter = secs(Date.now() - t);
      // The import holds state/move.lock for its whole run: free again, the run has ended.
      let aloneEnded: number | null = null;
      for (let i = 0; i < 300; i++) {
        if (onHost(newHost, `flock -n ${APP_DIR}/state/move.lock true`, { allowFail: true }).code === 0) {
          aloneEnded = secs(Date.now() - t);
          break;
        }
        await sleep(1000);
      }
      const lastImport = onHost(newHost, `grep '"action":"move-import"' ${APP_DIR}/state/audit.log | tail -n 1`, { allowFail: true }).stdout.trim();
      const logFile = onHost(newHost, `grep -l 'pulling the export' ${APP_DIR}/state/logs/*-move-import-*.log | tail -n 1`, { allowFail: true }).stdout.trim();
      const logText = logFile ? onHost(newHost, `cat ${logFile}`, { allowFail: true }).stdout : "";
      // What the cut-off caller never got is in the secret scan too.
      d.outputs.push(logText);
      const lastLine = logText.trim().split("\n").pop() ?? "";
      let loggedReport: Record<string, unknown> | null = null;
      try {
        loggedReport = JSON.parse(lastLine) as Record<string, unknown>;
      } catch {
        /* not a report */
      }
      cutoverLog = logText.split("\n").filter(Boolean);
      cutCutover = {
        failed_step: failedStep || null,
        cut_after_seconds: cutAfter,
        finished_alone_after_seconds: aloneEnded,
        import_audit_result: lastImport ? (JSON.parse(lastImport) as { result?: string }).result : null,
        report_in_host_log: loggedReport ? { ok: loggedReport.ok, app: loggedReport.app, freeze_seconds: loggedReport.freeze_seconds } : null,
        new_side_backend_running: runningService(newHost, "backend").length > 0,
        new_side_worker_running: runningService(newHost, "worker").length > 0,
        old_side_holder_target: onHost(oldHost, `jq -r .url ${APP_DIR}/state/move-hold/target.json 2>/dev/null`, { allowFail: true }).stdout.trim() || null,
        old_side_backend_running: runningService(oldHost, "backend").length > 0,
      };
      d.record({ cut_off_cutover: cutCutover });
      d.check(
        failedStep === "move-cutover",
        `the cut-off cutover did not fail in move-cutover (as the engine reports a lost connection): ${failedStep || "it succeeded"}`,
      );
      d.check(aloneEnded !== null, "the cut-off cutover's import did not end on its own within 300 s");
      d.check(
        cutCutover.import_audit_result === "success" && loggedReport?.ok === true && loggedReport?.app === "started",
        `the cut-off cutover did not finish well on its own: ${JSON.stringify(cutCutover)}`,
      );
      d.check(
        !!cutCutover.new_side_backend_running && !cutCutover.old_side_backend_running && String(cutCutover.old_side_holder_target).includes("443"),
        `after the cut-off cutover the new side does not serve with the old side handing over: ${JSON.stringify(cutCutover)}`,
      );
      // Some seconds of serving, alone, before the operator's run again.
      await sleep(5000);
    };
    const tMove = Date.now();
    gen.start();
    let load: LoadResult;
    try {
      await sleep(3000);
      for (const phase of ["prepare", "cutover", end]) {
        t0 = Date.now();
        const p = await planFor({ ...moveKeys(phase), previousOutputs: last!.outputs });
        if (phase === "prepare" && newSide.create) d.record(await newSide.create(p));
        if (phase === "cutover" && failFirstCutover) {
          await failCutoverOnce(p);
          await cutCutoverOnce(p);
        }
        const reports = await apply(p);
        phases[phase] = { seconds: secs(Date.now() - t0), steps_run: reports.filter((r) => r.action !== "unchanged").map((r) => `${r.name}:${r.action}`) };
        holds[phase] = { old: moveHold(oldHost), new: moveHold(newHost) };
        if (phase === "prepare") {
          prepareReport = importReport(reports, "move-copy");
          if (byName) {
            const resolved = onHost(oldHost, `getent ahosts ${newHost.dnsName} | awk 'NR == 1 { print $1 }'`, { allowFail: true }).stdout.trim();
            newHostByName = { move_vm_host: newHost.dnsName, resolved_on_old_host: resolved, authorized_from: pullKeyFrom(oldHost) };
          }
          if (egress) egressFrom.old_host_accepts_pull_from = pullKeyFrom(oldHost);
          backups.new_side_install = await installBackupOn(newHost);
          if (remote) {
            const found = reports.map((r) => /no first backup: \S+ already holds (\d+) backup/.exec(`${r.stdout}\n${r.stderr}`)).find(Boolean);
            backups.new_side_install_found_backups = found ? Number(found[1]) : null;
            backups.same_backups_seen_from_both = JSON.stringify(await backupsOn(oldHost)) === JSON.stringify(await backupsOn(newHost));
          }
          backups.new_side_scheduled_while_standby = await scheduledBackupOn(newHost);
          uploadsToTravel = changeUploads(d, oldHost);
          queueJobsOn(oldHost, "cutover");
        }
        if (phase === "prepare" && to === "vm") await firewall("new_host_firewall", newHost);
        if (phase === "cutover") {
          cutoverReport = importReport(reports, "move-cutover");
          // Both sides' log lines of the cutover (time-stamped to the second): where a long freeze went.
          // A cut-off cutover's are in its log on the new host (cutCutoverOnce); its run again resumed.
          if (!cutCutover) cutoverLog = `${reports.find((x) => x.name === "move-cutover")?.stderr ?? ""}`.split("\n").filter(Boolean);
          else {
            const again = `${reports.find((x) => x.name === "move-cutover")?.stderr ?? ""}`;
            cutCutover.run_again_copied = !/no new copy/.test(again);
            d.check(!cutCutover.run_again_copied, `the cutover run again after the cut copied again:\n${again.slice(-1500)}`);
          }
          oldAppStopLog = frozenAppLog(oldHost);
          jobQueue.cutover = {
            report: cutoverReport?.queue ?? null,
            equal: cutoverReport?.queue_equal ?? null,
            jobs_on_new_side: queuedJobsOn(newHost, "cutover"),
          };
          // Jobs the new side queues while it serves: a rollback must bring them back.
          if (rollback) queueJobsOn(newHost, "rollback");
          newSideHealth = importReport(reports, "move-forward")?.new_side_health as typeof newSideHealth;
          backups.new_side_first_backup = await firstBackupOn(newHost, reports, "move-cutover");
          backups.old_side_scheduled_while_frozen = await scheduledBackupOn(oldHost);
          // Every reading sent from here on reaches the old address after the cutover finished.
          lastBeforeForward = gen.lastSent;
          await sleep(10000);
        }
        if (phase === "retire") {
          backups.old_side_final_backup = await finalBackupOn(oldHost, reports);
          // One bucket: the retired side's final dump is its newest; a restore on the serving host must not take it.
          if (remote) backups.new_side_restore_by_default = await restoreByDefaultOn(newHost);
        }
        if (phase === "rollback") {
          rollbackReport = importReport(reports, "move-copy-back");
          if (egress) egressFrom.new_host_accepts_copy_back_from = pullKeyFrom(newHost);
          backups.old_side_first_backup_after_rollback = await firstBackupOn(oldHost, reports, "move-copy-back");
          jobQueue.rollback = {
            report: rollbackReport?.queue ?? null,
            equal: rollbackReport?.queue_equal ?? null,
            jobs_on_old_side: queuedJobsOn(oldHost, "rollback"),
          };
        }
      }
      await sleep(3000);
    } finally {
      load = await gen.stop();
    }
    const moveS = secs(Date.now() - tMove);
    await sleep(1000);

    // The old host forwards until retire's DNS wait is over, maybe through a reboot or a crash of
    // its holder: the holder comes back by itself (restart policy) and forwards again.
    let holderRestart: Record<string, unknown> | undefined;
    if (!rollback) {
      const state = () => onHost(oldHost, "docker inspect -f '{{.State.Running}} {{.RestartCount}}' freshtrack-move-hold", { allowFail: true }).stdout.trim();
      const before = state();
      onHost(oldHost, `docker exec freshtrack-move-hold node -e "process.kill(1, 'SIGTERM')"`, { allowFail: true });
      const t = Date.now();
      let after = state();
      // SIGTERM is the holder's graceful stop: what it holds or forwards gets up to 30 s (hold.js).
      for (let i = 0; i < 100 && !(after.startsWith("true") && after !== before); i++) {
        await sleep(500);
        after = state();
      }
      const forwarded = await healthyWithin(target, 30);
      holderRestart = { before, after, seconds_until_health_through_old_address: secs(Date.now() - t), forwarded_again: forwarded };
      d.check(
        after.startsWith("true") && after !== before && forwarded,
        `the old side's holder did not come back after it exited: ${JSON.stringify(holderRestart)}`,
      );
    }

    // 4. Figures, read on both hosts. The side that serves at the end takes every reading: the
    // new one after retire, the old one after a rollback; the other side is frozen.
    const oldQuery = old.query;
    const onNew = storedOn(newSide.query, device);
    const onOld = storedOn(oldQuery, device);
    const [onFinal, onOther] = rollback ? [onOld, onNew] : [onNew, onOld];
    // Frame counter 0 is the reading sent before the load; the load's are 1..lastSent.
    const loadOnFinal = [...onFinal].filter((f) => f > 0).length;
    const notStored = [...Array(gen.lastSent).keys()].map((i) => i + 1).filter((f) => !onFinal.has(f));
    const failedAt = notStored.flatMap((f) => (gen.attempts.get(f) ?? []).map((a) => a.split(" ")[0])).sort();
    const sentAfter = gen.lastSent - lastBeforeForward;
    const storedAfter = [...onFinal].filter((f) => f > lastBeforeForward).length;
    const tablesOld = tableCounts(oldQuery);
    const tablesNew = tableCounts(newSide.query);
    const [tablesFinal, tablesOther] = rollback ? [tablesOld, tablesNew] : [tablesNew, tablesOld];
    // A droplet's bucket is in Spaces: read there with the droplet's own rclone config.
    const objectsOld = objectsOn(oldHost);
    const objectsNew = objectsOn(newHost);
    const uploads = { old: uploadsOn(oldHost), new: uploadsOn(newHost) };
    const salt = { old: saltDigest(oldHost), new: saltDigest(newHost) };
    const finalOnly = [...onFinal].filter((f) => !onOther.has(f)).length;
    const missingOnFinal = [...onOther].filter((f) => !onFinal.has(f));
    const ackedNotStored = notStored.filter((f) => gen.acked.has(f));
    // The sides' request holders: their counts (they log no header or body).
    const holderLog = (h: DisposableHost) => onHost(h, "docker logs --tail 12 freshtrack-move-hold 2>&1", { allowFail: true }).stdout.trim().split("\n");
    // After a rollback the old side routes locally again: no marker, no holder.
    const oldForwarding = onHost(oldHost, `ls ${APP_DIR}/state/proxy/move.forward 2>/dev/null; docker ps -q --filter name=freshtrack-move-hold`, {
      allowFail: true,
    }).stdout.trim();
    // The copy's PostgreSQL-client and rclone containers (ft_move_tools_keep) go with each run.
    const toolsLeft = (h: DisposableHost) =>
      onHost(h, "docker ps -aq --filter name=freshtrack-move-db --filter name=freshtrack-move-rclone", { allowFail: true })
        .stdout.trim()
        .split("\n")
        .filter(Boolean).length;
    const moveToolContainersLeft = { old: toolsLeft(oldHost), new: toolsLeft(newHost) };
    d.record({
      move_tool_containers_left: moveToolContainersLeft,
      final_side: rollback ? "old (rolled back)" : "new",
      ...(holderRestart ? { old_side_holder_restart: holderRestart } : {}),
      old_side_holder_log: holderLog(oldHost),
      ...(rollback
        ? { new_side_holder_log: holderLog(newHost), rollback_report: rollbackReport ?? null, old_side_still_forwarding: oldForwarding || null }
        : {}),
      not_stored_attempts: notStored.slice(0, 5).map((f) => `${f}: ${(gen.attempts.get(f) ?? []).join(", ")}`),
      // Held longer than the client waited (15 s, no retry): the client saw a timeout, the reading is stored.
      client_timed_out_but_stored: [...gen.attempts.entries()].filter(([f, a]) => onFinal.has(f) && a.some((x) => x.endsWith(" timeout"))).length,
      readings: {
        ...d.lossFigures(load, loadOnFinal),
        stored_on_old: [...onOld].filter((f) => f > 0).length,
        stored_on_new: [...onNew].filter((f) => f > 0).length,
      },
      lost_readings_answered_between: failedAt.length ? `${failedAt[0]} and ${failedAt[failedAt.length - 1]} UTC` : null,
      sent_to_old_address_after_cutover: sentAfter,
      of_those_stored_on_final_side: storedAfter,
      write_freeze_seconds: cutoverReport?.freeze_seconds ?? null,
      // Of that freeze: how long the old side's slowest app container took to stop (cutover_log: each).
      old_app_stop_seconds: cutoverReport?.old_app_stop_seconds ?? null,
      // The cutover refuses to start when this exceeds moveMaxFreezeSeconds: how close the forecast came.
      forecast_freeze_seconds_from_prepare_copy: prepareReport?.copy_seconds ?? null,
      new_side_health_through_public_address: newSideHealth ?? null,
      cutover_report: cutoverReport ?? null,
      cutover_log: cutoverLog,
      old_app_stop_log: oldAppStopLog,
      job_queue: jobQueue,
      prepare_report_ok: prepareReport?.ok ?? null,
      tables: { old: tablesOld, new: tablesNew },
      objects: { old: objectsOld, new: objectsNew },
      uploads_changed_between_prepare_and_cutover: uploadsToTravel ?? null,
      uploads_travelled: {
        prepare: prepareReport?.objects_travelled ?? null,
        cutover: cutoverReport?.objects_travelled ?? null,
        ...(failFirstCutover ? { by_the_failed_first_cutover: carriedByFailedCutover } : {}),
        ...(rollback ? { rollback: rollbackReport?.objects_travelled ?? null } : {}),
      },
      uploads_on_both_sides: uploads,
      ttn_salt_sha256_equal: salt.old === salt.new && salt.old.length === 64,
      phases,
      move_hold_metric: holds,
      backups_during_move: backups,
      total_move_seconds: moveS,
    });
    // The new host given by name: the old host let the pull in from its resolved address, and its
    // holder forwarded to the name (resolved in the holder's container).
    if (byName) {
      const byNameTargets = onHost(oldHost, `docker logs freshtrack-move-hold 2>&1 | grep -c '^hold: target https://${newHost.dnsName}$'`, {
        allowFail: true,
      }).stdout.trim();
      d.record({ new_host_by_name: { ...newHostByName, holder_targets_by_name: Number(byNameTargets) || 0 } });
      d.check(
        newHostByName?.authorized_from === newHost.host && newHostByName.resolved_on_old_host === newHost.host,
        `moveVmHost ${newHost.dnsName}: the old host's pull key is not limited to the new host's address ${newHost.host}: ${JSON.stringify(newHostByName)}`,
      );
      d.check(Number(byNameTargets) > 0, `the old side's holder never took https://${newHost.dnsName} as its target`);
    }
    // Both hosts behind a "NAT" (their egress given as the hosts' network): each side's key limited to it.
    if (egress) {
      d.record({ egress_addresses: egressFrom });
      d.check(
        egressFrom.old_host_accepts_pull_from === egress && egressFrom.new_host_accepts_copy_back_from === egress,
        `the pull keys are not limited to the egress ${egress}: ${JSON.stringify(egressFrom)}`,
      );
    }
    if (newSide.facts) {
      const f = newSide.facts();
      d.record(f.figures);
      for (const problem of f.problems) d.check(false, problem);
    }
    // When readings went missing: what each side was doing (states and wait events only, no
    // header, body or secret), so a failure on a loaded machine can be read afterwards.
    if (notStored.length || storedAfter !== sentAfter) {
      // Sessions' states and wait events only: a statement's text could hold a password (ALTER ROLE).
      const activity = (query: Query) =>
        query(
          "SELECT coalesce(usename, '-') || ' ' || coalesce(state, '-') || ' ' || coalesce(wait_event_type || ':' || wait_event, '-') || ' ' || (now() - state_change)::text FROM pg_stat_activity WHERE datname = 'frostguard'",
        )
          .split("\n")
          .filter(Boolean);
      const states = (h: DisposableHost) => onHost(h, "docker ps -a --format '{{.Names}} {{.Status}}'", { allowFail: true }).stdout.trim().split("\n");
      const holderErrors = (h: DisposableHost) =>
        onHost(h, "docker logs freshtrack-move-hold 2>&1 | grep -v '^hold: {' | sort | uniq -c | sort -rn | head -8", { allowFail: true })
          .stdout.trim()
          .split("\n");
      // Caddy's own error log (handler errors: "no upstreams available", dial failures), time,
      // message, status and path only: its request object carries the webhook secret's header.
      const proxyErrors = (h: DisposableHost) =>
        onHost(h, 'docker logs "$(docker ps -q --filter label=com.docker.compose.service=caddy | head -n1)" 2>&1 | grep \'"level":"error"\' | tail -n 400', {
          allowFail: true,
        })
          .stdout.split("\n")
          .filter(Boolean)
          .map(caddyErrorLine)
          .reduce<Record<string, number>>((acc, l) => ({ ...acc, [l]: (acc[l] ?? 0) + 1 }), {});
      // The side that should have taken the readings, seen from the other one (through its holder's path).
      const [serving, forwarding] = rollback ? [oldHost, newHost] : [newHost, oldHost];
      d.record({
        diagnostics: {
          final_side_db_activity: activity(rollback ? oldQuery : newSide.query),
          new_side_containers: states(newHost),
          old_side_containers: states(oldHost),
          holder_errors: { old: holderErrors(oldHost), new: holderErrors(newHost) },
          proxy_errors: { old: proxyErrors(oldHost), new: proxyErrors(newHost) },
          final_side_health_from_other: onHost(
            forwarding,
            `curl -sk -o /dev/null -w '%{http_code} %{time_total}s' --max-time 10 --resolve ${DOMAIN}:443:${serving.host} https://${DOMAIN}/health`,
            { allowFail: true },
          ).stdout,
        },
      });
    }
    // 5. Assertions (no timing is asserted).
    d.check(
      moveToolContainersLeft.old + moveToolContainersLeft.new === 0,
      `the move's tool containers outlived their runs: ${JSON.stringify(moveToolContainersLeft)}`,
    );
    // A backend stopped by the move is held (no "backend down" page); the serving side's is not.
    const wantHolds: Record<string, { old: string; new: string }> = {
      prepare: { old: "absent", new: "standby 1" },
      cutover: { old: "frozen 1", new: "none 0" },
      [end]: rollback ? { old: "none 0", new: "frozen 1" } : { old: "frozen 1", new: "none 0" },
    };
    d.check(
      JSON.stringify(holds) === JSON.stringify(wantHolds),
      `the move's hold metric after each phase: ${JSON.stringify(holds)}, expected ${JSON.stringify(wantHolds)}`,
    );
    // A held side's cron backup does nothing (its database is not the serving one; on vm -> vm both
    // hosts share the off-host bucket); the side that takes over is backed up at once.
    const skipped = (r: ScheduledRun | undefined, state: string) =>
      !!r && r.exit === 0 && r.new_backups === 0 && new RegExp(`"action":"backup".*"result":"skipped".*"move_hold":"${state}"`).test(r.audit);
    const stored = (b: FirstBackup | undefined) => b?.in_store === true;
    // The old side's install backed up into its store, empty until then.
    d.check(stored(backups.old_side_install), `the old side's install backup is not in its store: ${JSON.stringify(backups.old_side_install)}`);
    const install = backups.new_side_install;
    if (remote) {
      // vm -> vm, one bucket: the new host's deploy found the old side's backups there and took none
      // (its database, a copy or empty, must not become the newest that bin/restore takes).
      d.check(
        !!install && install.name === null && install.store_newest !== null && (backups.new_side_install_found_backups ?? 0) >= 1,
        `the new host's deploy with the shared bucket: ${JSON.stringify({ install, found: backups.new_side_install_found_backups })}`,
      );
      d.check(backups.same_backups_seen_from_both === true, "the two hosts do not list the same backups in the stack's one bucket");
    } else {
      // Each side its own store (digitalocean's Spaces, or a vm's on-host one): the new side's install backs up into its own, empty until then.
      d.check(!!install && install.in_store, `the new side's install backup is not in its store: ${JSON.stringify(install)}`);
    }
    d.check(
      skipped(backups.new_side_scheduled_while_standby, "standby"),
      `the standby side's scheduled backup: ${JSON.stringify(backups.new_side_scheduled_while_standby)}`,
    );
    d.check(
      skipped(backups.old_side_scheduled_while_frozen, "frozen"),
      `the frozen side's scheduled backup: ${JSON.stringify(backups.old_side_scheduled_while_frozen)}`,
    );
    d.check(stored(backups.new_side_first_backup), `the new side's first backup at cutover: ${JSON.stringify(backups.new_side_first_backup)}`);
    if (!rollback) d.check(stored(backups.old_side_final_backup), `the old side's final dump at retire: ${JSON.stringify(backups.old_side_final_backup)}`);
    if (!rollback && remote) {
      const r = backups.new_side_restore_by_default;
      const final = backups.old_side_final_backup?.name;
      const takeover = backups.new_side_first_backup?.name;
      d.check(
        !!r && r.exit === 0 && r.picked !== null && r.picked !== final && r.passed_over.includes(String(final)) && r.picked >= String(takeover),
        `the serving host's restore by default after the retire (the old side's final dump ${final} must be passed over for ${takeover} or newer): ${JSON.stringify(r)}`,
      );
    }
    if (rollback)
      d.check(
        stored(backups.old_side_first_backup_after_rollback),
        `the old side's first backup after the rollback: ${JSON.stringify(backups.old_side_first_backup_after_rollback)}`,
      );
    d.check(!!cutoverReport && cutoverReport.ok === true, `move-cutover's report is not ok: ${JSON.stringify(cutoverReport)}`);
    d.check(salt.old === salt.new && salt.old.length === 64, "the TTN salt differs between the sides");
    d.check(newSideHealth?.status === 200, `the new side's health through its public address at cutover: ${JSON.stringify(newSideHealth)}`);
    d.check(
      JSON.stringify(objectsOld) === JSON.stringify(objectsNew) && objectsOld.count === 3,
      `objects differ: ${JSON.stringify({ objectsOld, objectsNew })}`,
    );
    // Object by object (path, size, MD5), and only what changed since the prepare travelled at the cutover.
    d.check(
      JSON.stringify(uploads.old) === JSON.stringify(uploads.new) &&
        Object.keys(uploads.old).join(",") === "e2e-org/photos/cooler-0.bin,e2e-org/photos/cooler-1.bin,e2e-org/photos/cooler-3.bin",
      `the uploads differ between the sides: ${JSON.stringify(uploads)}`,
    );
    const toCarry = uploadsToTravel && {
      count: uploadsToTravel.count - carriedByFailedCutover.count,
      bytes: uploadsToTravel.bytes - carriedByFailedCutover.bytes,
    };
    d.check(
      cutoverReport?.objects_compared === "each object: path, size, MD5" && JSON.stringify(cutoverReport?.objects_travelled) === JSON.stringify(toCarry),
      `the cutover carried other uploads than the ones changed since the prepare (${JSON.stringify(uploadsToTravel)}; a failed cutover carried ${JSON.stringify(carriedByFailedCutover)} of them): ${JSON.stringify(cutoverReport?.objects_travelled)}`,
    );
    if (rollback)
      d.check(
        JSON.stringify(rollbackReport?.objects_travelled) === JSON.stringify({ count: 0, bytes: 0 }),
        `the copy back carried uploads, though none changed on the new side: ${JSON.stringify(rollbackReport?.objects_travelled)}`,
      );
    // The job queue travelled with the data: waiting jobs in order, a delayed job with its TTL.
    const jobsArrived = (j: unknown, tag: string) => {
      const q = j as { waiting: string[]; delayed_ttl_ms: number } | undefined;
      return q?.waiting.join(",") === `${tag}-1,${tag}-2,${tag}-3` && q.delayed_ttl_ms > 0;
    };
    d.check(
      jobQueue.cutover?.equal === true && jobsArrived(jobQueue.cutover?.jobs_on_new_side, "cutover"),
      `the old side's queued jobs did not all arrive on the new side at the cutover: ${JSON.stringify(jobQueue.cutover)}`,
    );
    if (rollback)
      d.check(
        jobQueue.rollback?.equal === true && jobsArrived(jobQueue.rollback?.jobs_on_old_side, "rollback"),
        `the jobs the new side queued did not come back with the rollback: ${JSON.stringify(jobQueue.rollback)}`,
      );
    const finalName = rollback ? "the old side (rolled back)" : "the new side";
    if (rollback) {
      d.check(!!rollbackReport && rollbackReport.ok === true, `move-copy-back's report is not ok: ${JSON.stringify(rollbackReport)}`);
      d.check(!oldForwarding, `the old side still sends requests to the holder after the rollback: ${oldForwarding}`);
    }
    d.check(missingOnFinal.length === 0, `readings stored on the other side are missing on ${finalName}: ${missingOnFinal.slice(0, 10).join(",")}`);
    // The other side is frozen (the old one since the cutover, the new one since the rollback's copy):
    // every table equal, the readings table plus what only the serving side took.
    for (const t of new Set([...Object.keys(tablesOld), ...Object.keys(tablesNew)])) {
      const want = t === READINGS ? tablesOther[t] + finalOnly : tablesOther[t];
      d.check(tablesFinal[t] === want, `table ${t}: old ${tablesOld[t]}, new ${tablesNew[t]} (expected ${want} on ${finalName})`);
    }
    d.check(sentAfter > 0 && storedAfter === sentAfter, `readings sent to the old address after cutover: ${sentAfter}, stored on ${finalName}: ${storedAfter}`);
    d.check(ackedNotStored.length === 0, `acknowledged readings missing on ${finalName}: ${ackedNotStored.slice(0, 10).join(",")}`);
    // Zero loss: from the write freeze on, the old Caddy sends every request to the move's holder
    // (a marker file, no config load), which keeps it until the new side's backend answers and
    // then forwards it there (bin/move-export --freeze / --release); a rollback freezes the new
    // side the same way and sends what it holds back. A client that gives up before (15 s here)
    // counts as failed in the figures, but its reading is stored.
    d.check(
      notStored.length === 0,
      `${notStored.length} readings sent to the old address were not stored on ${finalName}, answered ${failedAt[0] ?? "?"}..${failedAt[failedAt.length - 1] ?? "?"} UTC (write freeze ${cutoverReport?.freeze_seconds ?? "?"} s; ${JSON.stringify(load.failures)})`,
    );
    // 6. No secret of any phase's plan (the move's transfer key included) in what the steps
    // printed, in the containers' logs or in the audit log of either host: searched by value.
    const hostText = (h: DisposableHost) =>
      onHost(h, `for c in $(docker ps -aq); do docker logs --tail 20000 "$c" 2>&1; done; cat ${APP_DIR}/state/audit.log 2>/dev/null`, {
        allowFail: true,
      }).stdout;
    const scanned: Record<string, string> = {
      "move steps' output": d.outputs.slice(printedFrom).join("\n"),
      "old host: container logs and audit log": hostText(oldHost),
      "new host: container logs and audit log": hostText(newHost),
    };
    // The hosts' addresses are no secret: under mocks they sit in secret-wrapped connection objects.
    const hostAddresses = [oldHost.host, newHost.host];
    const secretsToFind = [...new Set(plans.flatMap((x) => secretValues(x.plan, [...x.publicValues, ...hostAddresses])))];
    const { leaks, bytesSearched } = findSecrets(secretsToFind, scanned);
    d.record({ secret_scan: { values_searched: secretsToFind.length, bytes_searched: bytesSearched, leaks: leaks.length } });
    d.check(secretsToFind.length > 10, `only ${secretsToFind.length} secret values to search for`);
    d.check(
      secretsToFind.some((v) => transferKey.privateKeyOpenssh.includes(v)),
      "the move's transfer key (stdin of move-copy, move-cutover) is among the values searched",
    );
    d.check(leaks.length === 0, `secret values found: ${leaks.join("; ")}`);

    return {};
  } finally {
    if (!process.env.FT_E2E_KEEP) {
      await oldHost.stop();
      await newHost.stop();
      side?.stop();
      old?.stop();
      remote?.stop();
      removeHostsNetwork();
    } else
      console.log(
        `== FT_E2E_KEEP: hosts ${oldHost.name} (${oldHost.host}) and ${newHost.name} (${newHost.host}) left running` +
          (to === "digitalocean" || from === "digitalocean"
            ? `, with ${NAMES.db} (the postgres stand-in image's PostgreSQL 15, in its own container) and ${NAMES.spaces}`
            : ""),
      );
  }
}
