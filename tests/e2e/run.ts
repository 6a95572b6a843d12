// `npm run test:e2e` (ts-node --transpile-only tests/e2e/run.ts): end-to-end proof on a real
// Docker engine. Needs root, a running Docker engine with compose v2, sshd, debootstrap.
// FT_E2E_ONLY=1,7,9 runs a subset (scenario 1 always runs: it builds the stack).
// FT_E2E_KEEP=1 leaves the stack running afterwards (for debugging).
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  Applier,
  StackInput,
  StepError,
  findSecrets,
  hostCommand,
  plan,
  publicConfigValues,
  runStepCommand,
  secretValues,
  snapshotProgram,
  StepReport,
} from "./harness";
import { PlanResult } from "../../scripts/lib/program";
import { buildStandIn, ensureBaseImage } from "./lib/build";
import { containerMap, containers, inspectAll, logsAll, psql, purgeProject, sh, shAsync } from "./lib/docker";
import { LoadGenerator, LoadResult, Target, burst, devEui, httpsRequest, postUplink, uplink, webhookHeaders } from "./lib/load";
import { APP_CONTRACT, DEFAULT_RATE_LIMIT_MAX } from "../../core/app-contract";
import { startTestHost, TestHost } from "./lib/ssh-host";
import { APP_STAND_INS, INFRA_STAND_INS, NOT_STOOD_IN } from "./stand-ins";
import { sFailedDeploy } from "./scenarios/failed-deploy";
import { backupSchedule } from "./scenarios/backup-schedule";
import { logindSession, removeLogindHost } from "./scenarios/logind";
import { MoveDeps, moveDigitalOceanToVm, moveVmToDigitalOcean, moveVmToVm, moveVmToVmRolledBack, removeMoveLeftovers } from "./scenarios/move";
import { diskLost } from "./scenarios/disk-lost";
import { OffHostRemote, startOffHostRemote } from "./lib/offhost-remote";

interface ScenarioResult {
  ok: boolean;
  seconds: number;
  figures: Record<string, unknown>;
  error?: string;
}

const RATE = Number(process.env.FT_E2E_RATE ?? 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const only = (process.env.FT_E2E_ONLY ?? "").split(",").filter(Boolean);

class Failure extends Error {}
function record<T extends Record<string, unknown>>(ctx: Ctx, fig: T): T {
  Object.assign(ctx.figures, fig);
  return fig;
}
function check(cond: boolean, msg: string): void {
  if (!cond) throw new Failure(msg);
}

interface Ctx {
  host: TestHost;
  work: string;
  appDir: string;
  tags: Record<string, string>;
  release2: string;
  programRoot: string;
  applier: Applier;
  target: Target;
  stack: StackInput;
  lastPlan?: PlanResult;
  plans: PlanResult[];
  hostOutputs: string[];
  publicValues: string[];
  /** Figures of the running scenario, reported even when a check fails. */
  figures: Record<string, unknown>;
}

async function planFor(ctx: Ctx, change: Partial<StackInput> = {}): Promise<PlanResult> {
  ctx.stack = { ...ctx.stack, ...change };
  ctx.publicValues.push(...publicConfigValues(ctx.stack));
  const p = await plan(ctx.stack, ctx.work, ctx.programRoot);
  ctx.plans.push(p);
  ctx.lastPlan = p;
  return p;
}

async function apply(ctx: Ctx, p: PlanResult): Promise<StepReport[]> {
  try {
    return await ctx.applier.apply(p);
  } catch (e) {
    if (e instanceof StepError) console.error(`--- ${e.step} stdout ---\n${e.stdout.slice(-4000)}\n--- ${e.step} stderr ---\n${e.stderr.slice(-4000)}`);
    throw e;
  }
}

async function host(ctx: Ctx, cmd: string, stdin?: string) {
  const r = await hostCommand(ctx.lastPlan!, cmd, stdin);
  ctx.hostOutputs.push(r.stdout, r.stderr);
  return r;
}

const READINGS = APP_CONTRACT.readingsTable;
/** The e2e organisation's webhook secret (test data of the app, not a deployment secret): stored hashed, sent in X-API-Key. */
const ORG_WEBHOOK_SECRET = "e2e-org-webhook-secret-0001";
const sqlText = (v: string) => v.replace(/[^A-Za-z0-9._-]/g, "");
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/** Seeds the e2e organisation (after the migrations created the tables), as the app's onboarding would. */
function provisionOrganisation(ctx: Ctx): void {
  psql(
    `INSERT INTO organizations (name, webhook_secret_hash) VALUES ('e2e-org', '${sha256(ORG_WEBHOOK_SECRET)}') ON CONFLICT (webhook_secret_hash) DO NOTHING`,
  );
  ctx.target.apiKey = ORG_WEBHOOK_SECRET;
}

/** Registers a device of the e2e organisation (the webhook answers 404 for unknown devices). */
function provisionDevice(device: string): void {
  const d = sqlText(device);
  psql(
    `INSERT INTO devices (organization_id, device_id, dev_eui) SELECT id, '${d}', '${devEui(device)}' FROM organizations WHERE webhook_secret_hash = '${sha256(ORG_WEBHOOK_SECRET)}' ON CONFLICT DO NOTHING`,
  );
}

/** Distinct readings (by frame counter) stored for a device. */
function storedFcnts(device: string, distinct = true): string {
  return `SELECT ${distinct ? "DISTINCT " : ""}r.f_cnt FROM ${READINGS} r JOIN devices d ON d.id = r.device_id WHERE d.device_id = '${sqlText(device)}'`;
}
function storedCount(device: string): number {
  return Number(psql(`SELECT count(*) FROM (${storedFcnts(device)}) s`));
}

/** The release the running backend serves: the app reports no version, so read the image of its running container(s). */
async function backendRelease(ctx: Ctx): Promise<string> {
  const images = containers("backend").map((id) => sh("docker", ["inspect", "-f", "{{.Config.Image}}", id]).stdout.trim());
  const names = [...new Set(images.map((i) => (i === ctx.release2 ? "2" : i === ctx.tags.backend ? "1" : `unknown image ${i}`)))];
  return names.join(",") || "none running";
}

/** A plain environment variable of a service's running container (Compose environment, no secret). */
function containerEnv(service: string, name: string): string | undefined {
  const id = containers(service)[0];
  if (!id) return undefined;
  const env = JSON.parse(sh("docker", ["inspect", "-f", "{{json .Config.Env}}", id]).stdout) as string[];
  return env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
}

async function waitHealthy(ctx: Ctx, timeoutS: number, pathName = "/health"): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await httpsRequest(ctx.target, "GET", pathName, undefined, undefined, 3000);
      if (r.status === 200) return (Date.now() - t0) / 1000;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > timeoutS * 1000) throw new Failure(`${pathName} not 200 within ${timeoutS} s`);
    await sleep(500);
  }
}

function lossFigures(load: LoadResult, stored: number): Record<string, unknown> {
  return {
    rate_per_s: Number(load.rate.toFixed(1)),
    sent: load.sent,
    acknowledged_2xx: load.acked,
    http_429: load.rateLimited,
    failed: load.failed,
    failures: load.failures,
    stored,
    lost: load.sent - stored,
    retries: load.retries,
    response_mixups: load.mixups,
    max_ack_seconds: Number((load.maxAckMs / 1000).toFixed(1)),
  };
}

/** Readings acknowledged (2xx) but absent from the database, with their attempt history. */
function ackedNotStored(gen: LoadGenerator, device: string): Record<string, string[]> {
  const stored = new Set(psql(storedFcnts(device)).split("\n").filter(Boolean).map(Number));
  const out: Record<string, string[]> = {};
  for (const f of gen.acked) if (!stored.has(f) && Object.keys(out).length < 10) out[String(f)] = gen.attempts.get(f) ?? [];
  // And the reverse (stored although the client saw a failure): pairs with the above point at swapped answers.
  let n = 0;
  for (const f of stored) if (!gen.acked.has(f) && n++ < 10) out[`stored-not-acked ${f}`] = gen.attempts.get(f) ?? [];
  return out;
}

async function underLoad<T>(
  ctx: Ctx,
  device: string,
  action: () => Promise<T>,
  opts: { retry?: boolean; before?: number; after?: number } = {},
): Promise<{ load: LoadResult; stored: number; value: T }> {
  provisionDevice(device);
  const gen = new LoadGenerator(ctx.target, device, RATE, opts.retry ? { untilMs: 180000 } : null);
  gen.start();
  await sleep(opts.before ?? 3000);
  let value: T;
  try {
    value = await action();
  } finally {
    await sleep(opts.after ?? 3000);
  }
  const load = await gen.stop();
  await sleep(500);
  const missing = ackedNotStored(gen, device);
  if (Object.keys(missing).length) record(ctx, { acknowledged_but_not_stored: missing });
  // Every reading goes through the app's real limiter with the configured limit: not one may be refused.
  const limited = record(ctx, { [`http_429_${device.replace(/-\d+$/, "")}`]: load.rateLimited });
  check(
    load.rateLimited === 0,
    `the rate limiter refused readings: ${JSON.stringify(limited)} (RATE_LIMIT_MAX ${containerEnv("backend", APP_CONTRACT.rateLimit.maxEnv)})`,
  );
  return { load, stored: storedCount(device), value };
}

/** Trust Caddy's own root (tls internal) rather than skipping verification. */
async function readCaddyRoot(ctx: Ctx): Promise<void> {
  const caddy = containers("caddy")[0];
  check(!!caddy, "caddy is not running");
  for (let i = 0; i < 30 && !ctx.target.ca; i++) {
    const r = sh("docker", ["exec", caddy, "cat", "/data/caddy/pki/authorities/local/root.crt"], { allowFail: true });
    if (r.code === 0 && r.stdout.includes("BEGIN CERTIFICATE")) ctx.target.ca = r.stdout;
    else await sleep(1000);
  }
  check(!!ctx.target.ca, "Caddy's internal root certificate did not appear");
}

// ---- scenarios ----------------------------------------------------------------------

async function s1BareHost(ctx: Ctx): Promise<Record<string, unknown>> {
  purgeProject();
  const t0 = Date.now();
  const p = await planFor(ctx);
  const planS = (Date.now() - t0) / 1000;
  const reports = await apply(ctx, p);
  const applyS = (Date.now() - t0) / 1000;
  await readCaddyRoot(ctx);
  await waitHealthy(ctx, 120);
  const healthyS = (Date.now() - t0) / 1000;
  const front = await httpsRequest(ctx.target, "GET", "/");
  check(front.status === 200 && front.body.includes("<html"), `GET / through Caddy: ${front.status}`);
  const live = await httpsRequest(ctx.target, "GET", APP_CONTRACT.health.live.path);
  check(live.status === 200, `${APP_CONTRACT.health.live.path} ${live.status}`);
  provisionOrganisation(ctx);
  provisionDevice("s1");
  const post = await postUplink(ctx.target, uplink("s1", 1));
  check(post.status >= 200 && post.status < 300, `POST ${APP_CONTRACT.webhook.path} ${post.status} ${post.body}`);
  check(storedCount("s1") === 1, `the reading was not stored in ${READINGS}`);
  // The install's first backup (bin/deploy runs bin/backup --first): off the host, and restorable.
  const first = await firstDeployBackup(ctx);
  return {
    first_backup: first,
    seconds_to_healthy: Number(healthyS.toFixed(1)),
    seconds_program_under_mocks: Number(planS.toFixed(1)),
    seconds_apply_steps: Number((applyS - planS).toFixed(1)),
    steps: Object.fromEntries(reports.map((r) => [r.name, Number(r.seconds.toFixed(1))])),
    tls: "Caddy internal CA, verified against its root",
    services: Object.keys(containerMap()).sort(),
  };
}

/**
 * A bare host's first deploy backs up at once (bin/backup --first): the audit line names the
 * backup, backup.prom exists (the stale-backup alert reads it), and a restore check of that very
 * dump, from the off-host bucket, matches its manifest.
 */
async function firstDeployBackup(ctx: Ctx): Promise<{ name: string; restore_check_seconds: number }> {
  const audit = fs
    .readFileSync(path.join(ctx.appDir, "state", "audit.log"), "utf8")
    .trim()
    .split("\n");
  const lines = audit.map((l) => JSON.parse(l) as { action: string; result: string; reason?: string; backup?: string });
  const first = lines.find((a) => a.action === "backup" && a.reason === "first-deploy");
  check(
    first?.result === "success" && !!first.backup,
    `no first backup in the audit log after the first deploy: ${audit.filter((l) => l.includes('"backup"')).join(" | ") || "(none)"}`,
  );
  check(fs.existsSync(path.join(ctx.appDir, "metrics", "backup.prom")), "no metrics/backup.prom after the install's first backup");
  const verify = await host(ctx, `${ctx.appDir}/current/bin/restore --check --dump ${first!.backup}`);
  check(verify.code === 0, `restore --check of the first backup ${first!.backup} failed (${verify.code}): ${verify.stderr.slice(-1500)}`);
  return { name: first!.backup!, restore_check_seconds: Number(verify.seconds.toFixed(1)) };
}

/** What bin/deploy prints when it finds its release current (audit noop). */
const DEPLOY_NOOP = /is already current with unchanged images and secrets: nothing to do/;
/** bin/deploy's lines saying why a release is not current. */
const neededUpdate = (out: string): string[] => out.split("\n").filter((l) => /needs an update/.test(l));

async function s7NoChange(ctx: Ctx): Promise<Record<string, unknown>> {
  const before = containerMap();
  const p = await planFor(ctx);
  const reports = await apply(ctx, p);
  const changed = reports.filter((r) => r.action !== "unchanged").map((r) => `${r.name}:${r.action}`);
  record(ctx, { steps_run: changed });
  const copied = reports.find((r) => r.name === "copy-bundle")?.filesCopied ?? 0;
  const after = containerMap();
  check(changed.length === 0, `re-apply changed steps: ${changed.join(", ")}`);
  check(JSON.stringify(before) === JSON.stringify(after), "container ids changed on a no-op apply");
  // Stronger: run the deploy step's command again (as a forced re-run would): bin/deploy of the current release must restart nothing.
  const again = await runStepCommand(p, "deploy");
  ctx.hostOutputs.push(again.stdout, again.stderr);
  check(again.code === 0, `re-running deploy of the current release failed (${again.code}): ${again.stderr.slice(-1500)}`);
  const after2 = containerMap();
  record(ctx, {
    deploy_rerun_seconds: Number(again.seconds.toFixed(1)),
    deploy_rerun_restarted: diffMaps(before, after2),
    deploy_rerun_log: (again.stdout + again.stderr)
      .split("\n")
      .filter((l) => / deploy: /.test(l))
      .slice(0, 12),
  });
  check(JSON.stringify(before) === JSON.stringify(after2), `re-running deploy restarted containers: ${JSON.stringify(diffMaps(before, after2))}`);
  // Found current at once (audit noop), not by going through every step and changing nothing.
  const noop = DEPLOY_NOOP.test(again.stdout + again.stderr);
  record(ctx, { deploy_rerun_noop: noop });
  check(noop, `re-running deploy of the current release did not find it current: ${neededUpdate(again.stdout + again.stderr).join(" ")}`);
  return {
    steps_run: changed.length,
    files_copied: copied,
    container_ids_unchanged: true,
    deploy_rerun_seconds: Number(again.seconds.toFixed(1)),
    deploy_rerun_restarted: 0,
    deploy_rerun_noop: noop,
  };
}

function diffMaps(a: Record<string, string[]>, b: Record<string, string[]>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * The deploy step of plan `p` with its connection cut once the roll began (the deploying machine
 * gone), then `pulumi up` again at once: the cut-off deploy goes on alone, and the run again waits
 * for it (the same deploy: state/deploy.lock) and finds its release current.
 */
async function cutDeployThenRunAgain(ctx: Ctx, p: PlanResult): Promise<{ reports: StepReport[]; figures: Record<string, unknown> }> {
  const t0 = Date.now();
  let failedStep = "";
  try {
    await ctx.applier.apply(p, { cut: { step: "deploy", when: /backend: starting new container beside/ } });
  } catch (e) {
    failedStep = e instanceof StepError ? e.step : String(e);
  }
  const cutAfter = Number(((Date.now() - t0) / 1000).toFixed(1));
  const reports = await apply(ctx, p);
  const again = reports.find((r) => r.name === "deploy");
  const out = `${again?.stdout ?? ""}\n${again?.stderr ?? ""}`;
  const audit = (await host(ctx, `grep -E '"action":"deploy"' ${ctx.appDir}/state/audit.log | tail -n 2`)).stdout
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { result?: string }).result ?? null);
  // What the cut-off caller never got is in the secret scan too.
  await host(ctx, `cat "$(ls -t ${ctx.appDir}/state/logs/*-deploy-*.log | sed -n 2p)"`);
  const figures = {
    failed_step: failedStep || null,
    cut_after_seconds: cutAfter,
    run_again_seconds: Number((again?.seconds ?? 0).toFixed(1)),
    run_again_waited: /deploy lock is held .*waiting up to 1800 s/.test(out),
    run_again_found_current: DEPLOY_NOOP.test(out),
    run_again_needed_update: neededUpdate(out),
    audit_cut_then_again: audit,
  };
  check(failedStep === "deploy", `the cut-off deploy did not fail in its step (as the engine reports a lost connection): ${failedStep || "it succeeded"}`);
  check(figures.run_again_waited, `the deploy run again did not wait for the cut-off one:\n${out.slice(-1500)}`);
  check(
    figures.run_again_found_current && JSON.stringify(audit) === JSON.stringify(["success", "noop"]),
    `the cut-off deploy did not finish alone, found current by the run again: ${JSON.stringify(figures)}`,
  );
  return { reports, figures };
}

/**
 * What an operator might do by hand: `docker compose up -d --force-recreate --no-deps SERVICE` on
 * the current release, in the environment state/secrets.env gives (else the secrets label would differ too).
 */
async function naiveRecreate(ctx: Ctx, service: string): Promise<{ code: number; seconds: number }> {
  const cur = fs.realpathSync(path.join(ctx.appDir, "current"));
  const rel = JSON.parse(fs.readFileSync(path.join(cur, "release.json"), "utf8")) as { compose_files: string[] };
  const env = Object.fromEntries(
    fs
      .readFileSync(path.join(ctx.appDir, "state", "secrets.env"), "utf8")
      .split("\n")
      .filter((l) => /^FT_SECRETS_[A-Z0-9_]+=/.test(l))
      .map((l) => l.split("=") as [string, string]),
  );
  const args = ["compose", "-p", "freshtrack", "--project-directory", cur, ...rel.compose_files.flatMap((f) => ["-f", path.join(cur, f)])];
  const t0 = Date.now();
  const r = await shAsync("docker", [...args, "up", "-d", "--force-recreate", "--no-deps", service], {
    env: { ...process.env, ...env, FT_SECRETS_DIR: path.join(ctx.appDir, "secrets") },
  });
  return { code: r.code, seconds: (Date.now() - t0) / 1000 };
}

async function s2Release(ctx: Ctx): Promise<Record<string, unknown>> {
  const device = `s2-deploy-${Date.now()}`;
  const { load, stored, value } = await underLoad(ctx, device, async () => {
    const p = await planFor(ctx, { backendTag: ctx.release2 });
    return cutDeployThenRunAgain(ctx, p);
  });
  const ran = value.reports.filter((r) => r.action !== "unchanged").map((r) => r.name);
  const release = await backendRelease(ctx);
  const deployFig = record(ctx, { deploy: { ...lossFigures(load, stored), steps_run: ran, release_after: release, cut_off_deploy: value.figures } }).deploy;
  // Side by side: the naive way (recreate the backend with compose up) under the same load.
  const device2 = `s2-naive-${Date.now()}`;
  const naive = await underLoad(ctx, device2, () => naiveRecreate(ctx, "backend"), { after: 20000 });
  record(ctx, { naive_compose_up_recreate: lossFigures(naive.load, naive.stored) });
  check(load.sent - stored === 0, `deploy of a new backend lost ${load.sent - stored} of ${load.sent} readings`);
  check(load.acked === load.sent, `deploy of a new backend refused ${load.sent - load.acked} readings`);
  check(release === "2", `backend release after deploy is ${release}, expected 2`);
  return { deploy: deployFig, naive_compose_up_recreate: lossFigures(naive.load, naive.stored) };
}

async function s3Rollback(ctx: Ctx): Promise<Record<string, unknown>> {
  const device = `s3-rollback-${Date.now()}`;
  // As docs/rollback.md says to: naming the release, the previous one as the host records it.
  const prev = (await host(ctx, `readlink ${ctx.appDir}/previous`)).stdout.trim().replace(/^releases\//, "");
  const rollback = () => host(ctx, `${ctx.appDir}/current/bin/rollback --to ${prev}`);
  const { load, stored, value } = await underLoad(ctx, device, rollback);
  check(value.code === 0, `bin/rollback failed (${value.code}): ${value.stderr.slice(-1500)}`);
  const release = await backendRelease(ctx);
  // The same command again, as after a dropped connection: the release is current, nothing changes.
  const before = containerMap();
  const again = await rollback();
  const rerun = {
    code: again.code,
    already_current: /release \S+ is already current: nothing to roll back/.test(again.stderr),
    containers_unchanged: JSON.stringify(containerMap()) === JSON.stringify(before),
    current_after: (await host(ctx, `readlink ${ctx.appDir}/current`)).stdout.trim() === `releases/${prev}`,
  };
  const fig = { ...lossFigures(load, stored), rollback_seconds: Number(value.seconds.toFixed(1)), release_after: release, rerun };
  record(ctx, fig);
  check(load.sent - stored === 0, `rollback lost ${load.sent - stored} readings`);
  check(release === "1", `backend release after rollback is ${release}, expected 1`);
  check(
    rerun.code === 0 && rerun.already_current && rerun.containers_unchanged && rerun.current_after,
    `the same rollback --to again was not a no-op: ${JSON.stringify(rerun)}: ${again.stderr.slice(-1500)}`,
  );
  return fig;
}

async function s8Lock(ctx: Ctx): Promise<Record<string, unknown>> {
  const p = ctx.lastPlan!;
  const lib = `${ctx.appDir}/current/bin/lib.sh`;
  // The holder takes the lock with the product's own ft_lock_acquire, then sleeps.
  const holder = host(ctx, `bash -c 'source "$1"; ft_paths_resolve; ft_lock_acquire deploy "e2e-holder-deploy"; sleep 12' holder ${lib}`);
  await sleep(1500);
  const second = await runStepCommand(p, "deploy");
  ctx.hostOutputs.push(second.stdout, second.stderr);
  await holder;
  const out = second.stdout + second.stderr;
  check(second.code !== 0, "a second deploy succeeded while the lock was held");
  check(second.seconds < 10, `the second deploy took ${second.seconds} s to fail (not fast)`);
  check(/e2e-holder-deploy/.test(out), `the failure does not name the holder:\n${out.slice(-800)}`);
  return {
    exit_code: second.code,
    seconds_to_fail: Number(second.seconds.toFixed(2)),
    names_holder: true,
    message: out
      .split("\n")
      .filter((l) => /lock|holder|action=|user=/.test(l))
      .slice(0, 6),
  };
}

async function s4Backup(ctx: Ctx): Promise<Record<string, unknown>> {
  const before = Number(psql(`SELECT count(*) FROM ${READINGS}`));
  const b = await host(ctx, `${ctx.appDir}/current/bin/backup`);
  check(b.code === 0, `bin/backup failed (${b.code}): ${b.stderr.slice(-1500)}`);
  psql(`DELETE FROM ${READINGS}`);
  const destroyed = Number(psql(`SELECT count(*) FROM ${READINGS}`));
  const r = await host(ctx, `${ctx.appDir}/current/bin/restore --into-production --yes-really`);
  check(r.code === 0, `bin/restore failed (${r.code}): ${r.stderr.slice(-1500)}`);
  const after = Number(psql(`SELECT count(*) FROM ${READINGS}`));
  check(after === before, `restored ${after} rows, had ${before}`);
  await waitHealthy(ctx, 120);
  return {
    rows_before: before,
    rows_after_destroy: destroyed,
    rows_after_restore: after,
    backup_seconds: Number(b.seconds.toFixed(1)),
    restore_seconds: Number(r.seconds.toFixed(1)),
  };
}

async function pgLogin(password: string): Promise<boolean> {
  const id = containers("postgres")[0];
  const r = sh("docker", ["exec", "-i", id, "sh", "-c", 'PGPASSWORD=$(cat) psql -h 127.0.0.1 -U frostguard -d frostguard -tAc "select 1"'], {
    input: password,
    allowFail: true,
  });
  return r.code === 0 && r.stdout.trim() === "1";
}

/** node-postgres through the stack's PgBouncer with a given pooled URL, from a container of the backend image. */
async function viaPgbouncer(ctx: Ctx, url: string): Promise<string> {
  const r = sh(
    "docker",
    [
      "run",
      "--rm",
      "-i",
      "--network",
      "freshtrack_default",
      "--user",
      "1001",
      "--entrypoint",
      "node",
      ctx.tags.backend,
      "-e",
      `const {Pool}=require("pg");let u="";process.stdin.on("data",(d)=>(u+=d)).on("end",()=>{const p=new Pool({connectionString:u.trim(),statement_timeout:30000,connectionTimeoutMillis:5000});` +
        `p.query("select current_user as u").then((r)=>{console.log("OK "+r.rows[0].u);process.exit(0)},(e)=>{console.log("ERR "+e.message);process.exit(1)})})`,
    ],
    { input: url, allowFail: true },
  );
  return r.stdout.trim();
}

/** AUTH + PING with a password (on valkey-cli's stdin, never argv) against the stack's Redis: its reply lines. */
function redisAuth(password: string): string {
  const id = containers("redis")[0];
  const r = sh("docker", ["exec", "-i", id, "valkey-cli"], { input: `AUTH "${password.replace(/["\\]/g, "\\$&")}"\nPING\n`, allowFail: true });
  return r.stdout.replace(/\r/g, "").trim();
}

/** Readings of a device the worker has not processed yet (its queue: backend LPUSH, worker BRPOP). */
async function unprocessedAfter(device: string, timeoutS: number): Promise<{ unprocessed: number; processed: number; seconds: number }> {
  const t0 = Date.now();
  const q = (sql: string) => Number(psql(sql.replace("$D", `'${device.replace(/'/g, "")}'`)));
  for (;;) {
    const of = `FROM ${READINGS} r JOIN devices d ON d.id = r.device_id WHERE d.device_id = $D`;
    const unprocessed = q(`SELECT count(*) ${of} AND NOT r.processed`);
    // Distinct frame counters, as storedCount counts them.
    if (unprocessed === 0 || Date.now() - t0 > timeoutS * 1000)
      return { unprocessed, processed: q(`SELECT count(DISTINCT r.f_cnt) ${of} AND r.processed`), seconds: (Date.now() - t0) / 1000 };
    await sleep(1000);
  }
}

async function s6Rotate(ctx: Ctx): Promise<Record<string, unknown>> {
  const file = path.join(ctx.appDir, "secrets", "db-setup", "APP_DB_PASSWORD");
  const oldPw = fs.readFileSync(file, "utf8").trim();
  const oldPooledUrl = fs.readFileSync(path.join(ctx.appDir, "secrets", "app", "DATABASE_URL"), "utf8");
  const redisFile = path.join(ctx.appDir, "secrets", "redis", "password");
  const oldRedisPw = fs.readFileSync(redisFile, "utf8");
  const redisBefore = containers("redis");
  const gen = (ctx.stack.dbPasswordGeneration ?? 1) + 1;
  const redisGen = (ctx.stack.redisPasswordGeneration ?? 1) + 1;
  const device = `s6-rotate-${Date.now()}`;
  const { load, stored, value } = await underLoad(ctx, device, async () =>
    apply(ctx, await planFor(ctx, { dbPasswordGeneration: gen, redisPasswordGeneration: redisGen })),
  );
  const newPw = fs.readFileSync(file, "utf8").trim();
  // Redis: rotated in place (ACL LOAD), the old password refused afterwards, the worker's queue never stalled.
  const newRedisPw = fs.readFileSync(redisFile, "utf8");
  const redisNew = redisAuth(newRedisPw);
  const redisOld = redisAuth(oldRedisPw);
  const queue = await unprocessedAfter(device, 30);
  record(ctx, {
    redis: {
      password_changed: newRedisPw !== oldRedisPw,
      recreated: JSON.stringify(containers("redis")) !== JSON.stringify(redisBefore),
      new_password: redisNew.replace(/\n/g, " "),
      old_password: redisOld.replace(/\n/g, " "),
      queue: { stored, ...queue },
    },
  });
  check(newRedisPw !== oldRedisPw, "the Redis password file did not change");
  check(redisNew === "OK\nPONG", `the new Redis password: ${redisNew}`);
  check(/WRONGPASS/.test(redisOld), `the old Redis password still works after the rotation: ${redisOld}`);
  check(JSON.stringify(containers("redis")) === JSON.stringify(redisBefore), "Redis was recreated by the rotation");
  check(
    queue.unprocessed === 0 && queue.processed === stored,
    `the worker's queue lost jobs during the rotation: ${queue.unprocessed} of ${stored} readings never processed`,
  );
  check(newPw !== oldPw, "the password file did not change");
  const newOk = await pgLogin(newPw);
  const oldOk = await pgLogin(oldPw);
  // The pooler too: the app's new login works (as role frostguard), the previous one is gone once the roll is done.
  const pooledNew = await viaPgbouncer(ctx, fs.readFileSync(path.join(ctx.appDir, "secrets", "app", "DATABASE_URL"), "utf8"));
  const pooledOld = await viaPgbouncer(ctx, oldPooledUrl);
  const health = await httpsRequest(ctx.target, "GET", "/health");
  record(ctx, {
    ...lossFigures(load, stored),
    steps_run: value.filter((r) => r.action !== "unchanged").map((r) => r.name),
    new_password_works: newOk,
    old_password_refused: !oldOk,
    pgbouncer_new_login: pooledNew,
    pgbouncer_old_login: pooledOld,
  });
  check(newOk, "the new password is refused");
  check(!oldOk, "the old password still works");
  check(pooledNew === "OK frostguard", `the new pooled login through PgBouncer: ${pooledNew}`);
  check(pooledOld.startsWith("ERR "), `the previous pooled login still works through PgBouncer after the rotation: ${pooledOld}`);
  check(health.status === 200, `/health ${health.status} after rotation`);
  check(load.sent - stored === 0, `rotation lost ${load.sent - stored} readings`);
  return ctx.figures;
}

/** The deploy's last audit line (state/audit.log). */
function lastAudit(ctx: Ctx, action: string): Record<string, unknown> {
  const lines = fs
    .readFileSync(path.join(ctx.appDir, "state", "audit.log"), "utf8")
    .trim()
    .split("\n");
  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.action === action);
  return entries[entries.length - 1] ?? {};
}

/** What of a deploy's hold is left: a holder container, the marker sending requests to it, the deploy-hold mark. */
function holdLeftovers(ctx: Ctx): string[] {
  return [
    ...containers("move-hold", true).map((id) => `holder container ${id.slice(0, 12)}`),
    ...["state/proxy/move.forward", "state/deploy-hold"].filter((f) => fs.existsSync(path.join(ctx.appDir, f))),
  ];
}

/**
 * A deploy killed while it held the app's requests (its holder running, Caddy sending every request
 * there, state/deploy-hold written, as the release's own functions leave them), under load; 5 s later
 * the current release's deploy is run again, as an operator would: it must hand the requests back.
 */
async function killedHoldHandedBack(ctx: Ctx): Promise<Record<string, unknown>> {
  const cur = (await host(ctx, `readlink ${ctx.appDir}/current`)).stdout.trim().replace(/^releases\//, "");
  const { load, stored, value } = await underLoad(ctx, `s20-killed-${Date.now()}`, async () => {
    const left = await host(
      ctx,
      // As bin/deploy's hold_requests and hold_worker leave them: the worker's ids in the mark, the worker
      // stopped (first, so the 5 s below are the hold's alone, as before the worker stopped).
      `bash -c 'set -e; source "$1/current/bin/lib.sh"; ft_paths_resolve; ft_release_use "$(readlink -f "$1/current")"; ft_hold_ensure; ` +
        `ids=$(ft_compose_service_ids worker); printf "%s\\n" "$ids" >"$STATE_DIR/deploy-hold"; docker stop $ids >/dev/null; ft_hold_divert' _ ${ctx.appDir}`,
    );
    check(containers("worker").length === 0, "the killed deploy's worker is still running");
    check(left.code === 0, `could not leave a hold as a killed deploy would: ${left.stderr.slice(-400)}`);
    await sleep(5000);
    return host(ctx, `${ctx.appDir}/current/bin/deploy ${cur}`);
  });
  const audit = lastAudit(ctx, "deploy");
  const figures = {
    ...lossFigures(load, stored),
    redeploy_exit: value.code,
    handed_back: /held .* then handed back/.test(value.stderr + value.stdout),
    audit_result: audit.result,
    worker_running_after: containers("worker").length,
    hold_leftovers: holdLeftovers(ctx),
  };
  record(ctx, { killed_deploy_hold: figures });
  check(figures.worker_running_after === 1, `the deploy run after a killed hold left its worker stopped (${figures.worker_running_after} running)`);
  check(value.code === 0, `the deploy run after a killed hold failed: ${value.stderr.slice(-400)}`);
  check(figures.handed_back, "the deploy run after a killed hold did not say it handed the requests back");
  check(figures.hold_leftovers.length === 0, `the killed deploy's hold is left: ${figures.hold_leftovers.join(", ")}`);
  check(load.sent - stored === 0, `a killed deploy's hold lost ${load.sent - stored} of ${load.sent} readings`);
  return figures;
}

/** The project's container events between two moments (docker events): seconds, action, service, container id. */
function projectEvents(sinceS: number, untilS: number): { t: number; action: string; service: string; id: string }[] {
  const fmt = '{{.TimeNano}} {{.Action}} {{index .Actor.Attributes "com.docker.compose.service"}} {{.Actor.ID}}';
  const out = sh("docker", [
    "events",
    "--since",
    String(sinceS),
    "--until",
    String(untilS),
    "--filter",
    "type=container",
    "--filter",
    "label=com.docker.compose.project=freshtrack",
    "--format",
    fmt,
  ]).stdout;
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [ns, action, service, id] = l.split(" ");
      return { t: Number(BigInt(ns) / 1000000n) / 1000, action, service, id };
    });
}

/**
 * The worker's part in a data service's restart, read from the engine's events: it stopped
 * before the old PostgreSQL did and started again (the same container) after the new one started.
 */
function workerThroughRestart(events: ReturnType<typeof projectEvents>, pgBefore: string[]): Record<string, unknown> {
  const pgStop = events.find((e) => e.service === "postgres" && e.action === "die" && pgBefore.includes(e.id));
  const pgStart = events.find((e) => e.service === "postgres" && e.action === "start" && !pgBefore.includes(e.id));
  const workerDie = events.find((e) => e.service === "worker" && e.action === "die");
  const workerStart = workerDie && events.find((e) => e.service === "worker" && e.action === "start" && e.t >= workerDie.t);
  /** Seconds from `a` to `b`, when both happened. */
  const gap = (a?: { t: number }, b?: { t: number }) => (a && b ? Number((b.t - a.t).toFixed(2)) : null);
  return {
    worker_stopped_s_before_postgres: gap(workerDie, pgStop),
    worker_started_s_after_new_postgres: gap(pgStart, workerStart),
    same_worker_container: !!workerDie && workerStart?.id === workerDie.id,
    stopped_before: !!workerDie && !!pgStop && workerDie.t <= pgStop.t,
    started_after: !!workerStart && !!pgStart && workerStart.t >= pgStart.t,
    new_postgres_start_s: gap(pgStop, pgStart),
  };
}

async function s20DataServiceRestart(ctx: Ctx): Promise<Record<string, unknown>> {
  const pgBefore = containers("postgres");
  const maxBefore = Number(psql("SHOW max_connections"));
  const maxAfter = maxBefore + 10;
  const device = `s20-data-${Date.now()}`;
  const since = Math.floor(Date.now() / 1000);
  const { load, stored, value } = await underLoad(ctx, device, async () =>
    apply(ctx, await planFor(ctx, { extraConfig: { ...ctx.stack.extraConfig, dbMaxConnections: String(maxAfter) } })),
  );
  const worker = workerThroughRestart(projectEvents(since, Math.ceil(Date.now() / 1000) + 1), pgBefore);
  const workerRunning = containers("worker").length;
  const audit = lastAudit(ctx, "deploy");
  // The worker went on through the restart: every stored reading's job processed.
  const queue = await unprocessedAfter(device, 30);
  const leftovers = holdLeftovers(ctx);
  const recreated = JSON.stringify(containers("postgres")) !== JSON.stringify(pgBefore);
  const maxNow = Number(psql("SHOW max_connections"));
  const health = await httpsRequest(ctx.target, "GET", "/health");
  const deployFig = record(ctx, {
    deploy: {
      ...lossFigures(load, stored),
      steps_run: value.filter((r) => r.action !== "unchanged").map((r) => r.name),
      postgres_recreated: recreated,
      max_connections: { before: maxBefore, after: maxNow },
      held_seconds: audit.held_seconds,
      audit_result: audit.result,
      queue: { stored, ...queue },
      worker,
      hold_leftovers: leftovers,
    },
  }).deploy;
  // Side by side: the same restart by hand (compose up --force-recreate postgres), no holder.
  const naive = await underLoad(ctx, `s20-naive-${Date.now()}`, () => naiveRecreate(ctx, "postgres"), { after: 20000 });
  record(ctx, { naive_compose_up_recreate_postgres: lossFigures(naive.load, naive.stored) });
  const killed = await killedHoldHandedBack(ctx);
  check(recreated, "PostgreSQL was not recreated: the scenario did not restart a data service");
  check(maxNow === maxAfter, `max_connections is ${maxNow}, expected ${maxAfter}`);
  check(audit.result === "success" && typeof audit.held_seconds === "number", `the deploy's audit line: ${JSON.stringify(audit)}`);
  check(load.sent - stored === 0, `the data service restart lost ${load.sent - stored} of ${load.sent} readings`);
  // Held readings are stored however long they wait; a client whose own timeout is shorter than the
  // hold sees a timeout (counted in failures, as in the moves), not a refusal.
  const refused = load.failed - (load.failures.timeout ?? 0);
  check(refused === 0, `the data service restart refused ${refused} readings: ${JSON.stringify(load.failures)}`);
  check(health.status === 200, `/health ${health.status} after the restart`);
  check(queue.unprocessed === 0 && queue.processed === stored, `the worker left ${queue.unprocessed} of ${stored} readings unprocessed after the restart`);
  // No job taken while its database restarts: the worker stopped first and started again after.
  check(
    worker.stopped_before === true && worker.started_after === true && worker.same_worker_container === true && workerRunning === 1,
    `the worker ran through the data services' restart: ${JSON.stringify(worker)}, ${workerRunning} running after`,
  );
  check(leftovers.length === 0, `the hold left: ${leftovers.join(", ")}`);
  return { deploy: deployFig, naive_compose_up_recreate_postgres: lossFigures(naive.load, naive.stored), killed_deploy_hold: killed };
}

async function s5Crash(ctx: Ctx): Promise<Record<string, unknown>> {
  const device = `s5-crash-${Date.now()}`;
  let recovery = 0;
  const { load, stored } = await underLoad(
    ctx,
    device,
    async () => {
      const t0 = Date.now();
      // kill -9 of the process from the host (a crash / OOM kill): the restart policy applies.
      // (`docker kill` would count as a manual stop, which restart policies ignore.)
      for (const id of containers("backend")) {
        const pid = sh("docker", ["inspect", "-f", "{{.State.Pid}}", id]).stdout.trim();
        sh("kill", ["-9", pid]);
      }
      await shAsync("docker", ["restart", containers("postgres")[0]]);
      await waitHealthy(ctx, 180);
      recovery = (Date.now() - t0) / 1000;
    },
    { retry: true, after: 5000 },
  );
  record(ctx, { ...lossFigures(load, stored), seconds_to_recovery: Number(recovery.toFixed(1)) });
  check(load.sent - stored === 0, `crash/restart lost ${load.sent - stored} readings after retries`);
  return { ...lossFigures(load, stored), seconds_to_recovery: Number(recovery.toFixed(1)) };
}

async function s9Secrets(ctx: Ctx): Promise<Record<string, unknown>> {
  const values = [...new Set(ctx.plans.flatMap((p) => secretValues(p, ctx.publicValues)))];
  const places: Record<string, string> = {
    "docker inspect": inspectAll(),
    "container logs": logsAll(),
    "audit log": fs.existsSync(path.join(ctx.appDir, "state", "audit.log")) ? fs.readFileSync(path.join(ctx.appDir, "state", "audit.log"), "utf8") : "",
    "command output": [...ctx.applier.outputs, ...ctx.hostOutputs].join("\n"),
  };
  const { leaks, bytesSearched } = findSecrets(values, places);
  check(values.length > 10, `only ${values.length} secret values found to search for`);
  check(leaks.length === 0, `secret values found: ${leaks.join("; ")}`);
  return { secret_values_searched: values.length, bytes_searched: bytesSearched, leaks: 0 };
}

/** The stand-in honours the app's contract where the deployment depends on it. */
async function s10StandInContract(ctx: Ctx): Promise<Record<string, unknown>> {
  const backend = ctx.tags.backend;
  // (a) exits at start without STACK_AUTH_PROJECT_ID
  const a = await shAsync("docker", ["run", "--rm", "-e", "DATABASE_URL=postgres://nobody@127.0.0.1:1/none", backend]);
  // (b) node-postgres sends statement_timeout as a startup parameter: a PgBouncer without
  //     ignore_startup_parameters=...statement_timeout refuses it; the stack's own accepts it.
  const cur = fs.realpathSync(path.join(ctx.appDir, "current"));
  const strictIni = path.join(ctx.work, "pgbouncer-strict.ini");
  fs.writeFileSync(
    strictIni,
    fs
      .readFileSync(path.join(cur, "config", "pgbouncer.ini"), "utf8")
      .replace(/^ignore_startup_parameters.*$/m, "ignore_startup_parameters = extra_float_digits"),
  );
  fs.chmodSync(strictIni, 0o644);
  const net = "freshtrack_default";
  const name = "freshtrack-e2e-pgbouncer-strict";
  await shAsync("docker", ["rm", "-f", name]);
  const started = await shAsync("docker", [
    "run",
    "-d",
    "--name",
    name,
    "--network",
    net,
    "-v",
    `${strictIni}:/etc/pgbouncer/pgbouncer.ini:ro`,
    "-v",
    `${path.join(ctx.appDir, "state", "pgbouncer")}:/run/secrets/pgbouncer:ro`,
    ctx.tags.pgbouncer,
  ]);
  check(started.code === 0, `strict pgbouncer did not start: ${started.stderr}`);
  await sleep(2000);
  const probe = (hostName: string) =>
    shAsync("docker", [
      "run",
      "--rm",
      "--network",
      net,
      "--user",
      "1001",
      "-v",
      `${path.join(ctx.appDir, "secrets", "app", "DATABASE_URL")}:/run/secrets/env/DATABASE_URL:ro`,
      "--entrypoint",
      "node",
      backend,
      "-e",
      `const {Pool}=require("pg");const u=new URL(require("fs").readFileSync("/run/secrets/env/DATABASE_URL","utf8").trim());u.hostname=${JSON.stringify(hostName)};` +
        `const p=new Pool({connectionString:u.toString(),statement_timeout:30000});p.query("select 1").then(()=>{console.log("OK");process.exit(0)},e=>{console.log("ERR "+e.message);process.exit(1)})`,
    ]);
  const strict = await probe(name);
  const stack = await probe("pgbouncer");
  await shAsync("docker", ["rm", "-f", name]);
  record(ctx, { exit_without_stack_auth_project_id: a.code, via_strict_pgbouncer: strict.stdout.trim(), via_stack_pgbouncer: stack.stdout.trim() });
  check(a.code !== 0 && /STACK_AUTH_PROJECT_ID/.test(a.stdout + a.stderr), "the stand-in backend started without STACK_AUTH_PROJECT_ID");
  check(
    strict.code !== 0 && /statement_timeout/.test(strict.stdout),
    `statement_timeout through a PgBouncer without ignore_startup_parameters: ${strict.stdout}`,
  );
  check(stack.code === 0, `the stack's PgBouncer refused the app's connection: ${stack.stdout}`);

  // (c) the webhook's contract through Caddy: TTN uplink shape, the organisation's secret in either header.
  const W = APP_CONTRACT.webhook;
  const device = `s10-webhook-${Date.now()}`;
  provisionDevice(device);
  const post = (body: string, headers: Record<string, string>) => httpsRequest(ctx.target, W.method, W.path, body, undefined, 15000, headers);
  const ttn = webhookHeaders(ctx.target);
  const ua = { "User-Agent": ttn["User-Agent"] };
  const webhook = {
    x_api_key: (await post(uplink(device, 1), ttn)).status,
    x_webhook_secret: (await post(uplink(device, 2), { ...ua, [W.authHeaders[1]]: ORG_WEBHOOK_SECRET })).status,
    bad_key: (await post(uplink(device, 3), { ...ua, [W.authHeaders[0]]: "not-the-secret" })).status,
    no_key: (await post(uplink(device, 4), ua)).status,
    unknown_device: (await post(uplink(`${device}-unregistered`, 1), ttn)).status,
    invalid_body: (
      await post(JSON.stringify({ end_device_ids: { device_id: device }, uplink_message: { f_cnt: 5, decoded_payload: { temperature: 3.5 } } }), ttn)
    ).status,
    stored: storedCount(device),
  };
  record(ctx, { webhook });
  check(
    webhook.x_api_key === 200 && webhook.x_webhook_secret === 200,
    `the organisation's secret in ${W.authHeaders.join(" / ")}: ${webhook.x_api_key} / ${webhook.x_webhook_secret}`,
  );
  check(webhook.bad_key === W.status.badKey && webhook.no_key === W.status.badKey, `bad key ${webhook.bad_key}, no key ${webhook.no_key}`);
  check(webhook.unknown_device === W.status.unknownDevice, `unknown device ${webhook.unknown_device}`);
  check(webhook.invalid_body === W.status.badBody, `invalid body ${webhook.invalid_body}`);
  check(webhook.stored === 2, `stored ${webhook.stored} readings in ${READINGS}, expected the 2 authenticated ones`);

  // (d) health bodies through Caddy, as the real app answers them.
  const H = APP_CONTRACT.health;
  const live = await httpsRequest(ctx.target, "GET", H.live.path);
  const ready = await httpsRequest(ctx.target, "GET", H.ready.path);
  record(ctx, { health_live: live.body, health_ready: ready.body });
  check(live.status === 200 && JSON.stringify(JSON.parse(live.body)) === JSON.stringify(H.live.body), `${H.live.path}: ${live.status} ${live.body}`);
  check(ready.status === 200 && JSON.stringify(JSON.parse(ready.body)) === JSON.stringify(H.ready.body), `${H.ready.path}: ${ready.status} ${ready.body}`);

  // (e) the running containers start with the images' own commands behind with-secrets; the worker runs its own image.
  const cfg = (svc: string) => {
    const id = containers(svc)[0];
    const c = JSON.parse(sh("docker", ["inspect", "-f", "{{json .Config}}", id]).stdout) as {
      Cmd: string[];
      Entrypoint: string[];
      Image: string;
      User: string;
    };
    const health = sh("docker", ["inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", id]).stdout.trim();
    return { cmd: c.Cmd, entrypoint: c.Entrypoint, image: c.Image, user: c.User, health };
  };
  const running = { backend: cfg("backend"), worker: cfg("worker") };
  record(ctx, { running });
  for (const svc of ["backend", "worker"] as const) {
    check(
      JSON.stringify(running[svc].cmd) === JSON.stringify(APP_CONTRACT.commands[svc]),
      `${svc} runs ${JSON.stringify(running[svc].cmd)}, the image's command is ${JSON.stringify(APP_CONTRACT.commands[svc])}`,
    );
    check(running[svc].entrypoint.join(" ").endsWith("with-secrets"), `${svc} entrypoint ${JSON.stringify(running[svc].entrypoint)}`);
    check(running[svc].user === String(APP_CONTRACT.uid), `${svc} user ${running[svc].user}`);
    check(running[svc].health === "healthy", `${svc} is ${running[svc].health}`);
  }
  check(running.worker.image === ctx.tags.worker, `worker image ${running.worker.image}`);

  // (f) the worker image starts with no variable at all and keeps retrying (the real worker does not exit).
  const wname = "freshtrack-e2e-worker-novars";
  await shAsync("docker", ["rm", "-f", wname]);
  const w = await shAsync("docker", ["run", "-d", "--name", wname, ctx.tags.worker]);
  check(w.code === 0, `worker without variables did not start: ${w.stderr}`);
  await sleep(4000);
  const wRunning = sh("docker", ["inspect", "-f", "{{.State.Running}}", wname], { allowFail: true }).stdout.trim();
  await shAsync("docker", ["rm", "-f", wname]);
  record(ctx, { worker_without_variables_running_after_4s: wRunning === "true" });
  check(wRunning === "true", "the worker exited without variables (the real one keeps retrying)");
  return ctx.figures;
}

/**
 * Side by side: a short burst of real uplinks with the configured limit, then with RATE_LIMIT_MAX
 * at the app's own default (re-planned and deployed), then the configured limit back.
 */
async function s11RateLimit(ctx: Ctx): Promise<Record<string, unknown>> {
  const RL = APP_CONTRACT.rateLimit;
  // 1.5 x the app's default limit: with it, a third of the burst must be refused.
  const BURST = Math.round(RL.appDefaultMax * 1.5);
  const burstOf = async (label: string) => {
    const device = `s11-${label}-${Date.now()}`;
    provisionDevice(device);
    const b = await burst(ctx.target, device, BURST);
    const stored = storedCount(device);
    return {
      rate_limit_max: containerEnv("backend", RL.maxEnv),
      rate_limit_window_ms: containerEnv("backend", RL.windowEnv),
      sent: b.sent,
      seconds: Number(b.seconds.toFixed(1)),
      acknowledged_2xx: b.acked,
      http_429: b.rateLimited,
      other_failures: b.other,
      stored,
      lost: b.sent - stored,
    };
  };
  const configured = record(ctx, { configured_limit: await burstOf("configured") }).configured_limit;
  const saved = ctx.stack.extraConfig;
  const t0 = Date.now();
  await apply(ctx, await planFor(ctx, { extraConfig: { ...saved, rateLimitMax: String(RL.appDefaultMax), rateLimitWindowMs: String(RL.appDefaultWindowMs) } }));
  const deployS = (Date.now() - t0) / 1000;
  let appDefault: Awaited<ReturnType<typeof burstOf>>;
  try {
    appDefault = record(ctx, { app_default_limit: await burstOf("app-default") }).app_default_limit;
  } finally {
    await apply(ctx, await planFor(ctx, { extraConfig: saved }));
  }
  const restored = containerEnv("backend", RL.maxEnv);
  record(ctx, { seconds_to_deploy_limit_change: Number(deployS.toFixed(1)), rate_limit_max_after: restored });
  check(
    configured.rate_limit_max === String(DEFAULT_RATE_LIMIT_MAX) && configured.http_429 === 0 && configured.lost === 0,
    `with the configured limit: ${JSON.stringify(configured)}`,
  );
  check(appDefault.rate_limit_max === String(RL.appDefaultMax), `the backend did not get ${RL.maxEnv}=${RL.appDefaultMax}: ${appDefault.rate_limit_max}`);
  check(
    appDefault.http_429 === BURST - RL.appDefaultMax && appDefault.acknowledged_2xx === RL.appDefaultMax,
    `with the app's default limit, ${BURST - RL.appDefaultMax} of ${BURST} should be refused: ${JSON.stringify(appDefault)}`,
  );
  check(appDefault.stored === appDefault.acknowledged_2xx, `stored ${appDefault.stored} != acknowledged ${appDefault.acknowledged_2xx}`);
  check(restored === String(DEFAULT_RATE_LIMIT_MAX), `the configured limit is not back: ${restored}`);
  return ctx.figures;
}

/**
 * Scenarios on hosts of their own (the logind host, the moves' disposable hosts): they run last,
 * and before the first of them the test host's stack goes, since no scenario left uses it. Idle,
 * that stack's health checks alone kept this 2-core machine 13 % busy (2026-12-07: 17 CPU-s a
 * minute against 1 with it stopped), CPU the moves' two hosts under load have none to spare for.
 * 19 goes first, after 15 as in every earlier run: run straight after a move (the CI run of
 * 6f75c5f) its cut step after logind's fix was once ended with its connection.
 */
const OWN_HOSTS = new Set(["14", "16", "17", "18", "19"]);

/** What the move scenarios (scenarios/move.ts) take from the run. */
function moveDeps(ctx: Ctx): MoveDeps {
  return {
    work: ctx.work,
    programRoot: ctx.programRoot,
    tags: ctx.tags,
    rate: RATE,
    record: (f) => record(ctx, f),
    check,
    lossFigures,
    outputs: ctx.hostOutputs,
  };
}

const SCENARIOS: [string, string, (ctx: Ctx) => Promise<Record<string, unknown>>][] = [
  ["1", "bare host -> healthy stack through Caddy (HTTPS, tls internal)", s1BareHost],
  ["7", "re-apply with nothing changed", s7NoChange],
  ["2", "new backend release under load (and a naive compose recreate side by side)", s2Release],
  ["3", "rollback under load (bin/rollback --to the previous release), then the same command again: a no-op", s3Rollback],
  ["8", "second deploy while the lock is held", s8Lock],
  ["4", "backup, destroy readings, restore", s4Backup],
  ["6", "rotate the database password under load", s6Rotate],
  [
    "20",
    "a data service restarted by a deploy (dbMaxConnections: PostgreSQL recreated) under load; the same restart by hand side by side",
    s20DataServiceRestart,
  ],
  ["5", "kill -9 backend + restart PostgreSQL under load (retrying client)", s5Crash],
  ["9", "no secret value in docker inspect, logs, audit log, command output", s9Secrets],
  [
    "10",
    "stand-in contract: exits without STACK_AUTH_PROJECT_ID; statement_timeout refused by a strict PgBouncer, accepted by the stack's; webhook auth/shape, health bodies, start commands, worker without variables",
    s10StandInContract,
  ],
  ["11", "rate limit: a burst of TTN uplinks with the configured RATE_LIMIT_MAX, then with the app's default 100/min, then back", s11RateLimit],
  [
    "12",
    "a release whose backend never gets ready (new secrets too), under load: fails clearly, the running release untouched, a restart keeps its secrets; a good deploy follows",
    s12FailedDeploy,
  ],
  [
    "13",
    "the deploy's /etc/cron.d/freshtrack-backup, run as cron runs it: fresh encrypted dump, restore check, freshness metrics",
    (ctx) => backupSchedule({ appDir: ctx.appDir, host: (c) => host(ctx, c), record: (f) => record(ctx, f) }),
  ],
  [
    "15",
    "the disk is lost: backup (database + uploads) to a second S3 server off the host; the app's credentials cannot delete a backup; a tampered dump is refused; volumes and APP_DIR wiped, a new deploy + bin/restore from the remote bring back identical rows and bytes",
    s15DiskLost,
  ],
  [
    "19",
    "a host whose logind ends a dropped login's processes (systemd as PID 1, PAM sessions, sudo): preflight's session check against each setting, a step whose SSH connection is cut finishing or stopping half-way as it says, and its printed fix making it finish",
    async (ctx) => {
      await logindSession({ appDir: ctx.appDir, work: ctx.work, record: (f) => record(ctx, f), check });
      return ctx.figures;
    },
  ],
  [
    "14",
    "move vm -> vm (moveTo vm: prepare, cutover, retire) between two disposable hosts with their own engines, under load at the old address; a plain target change refused",
    async (ctx) => {
      await moveVmToVm(moveDeps(ctx));
      return ctx.figures;
    },
  ],
  [
    "16",
    "move vm -> digitalocean (moveTo digitalocean) under load at the old address: the droplet a disposable host booted from the program's user_data, the managed PostgreSQL a TLS-only PostgreSQL 15 whose admin is not a superuser, Spaces an S3 stand-in under its real name",
    async (ctx) => {
      await moveVmToDigitalOcean(moveDeps(ctx));
      return ctx.figures;
    },
  ],
  [
    "17",
    "move vm -> vm rolled back after its cutover (movePhase rollback), under load at the old address: the new side's writes copied back, the old side serves again with every reading",
    async (ctx) => {
      await moveVmToVmRolledBack(moveDeps(ctx));
      return ctx.figures;
    },
  ],
  [
    "18",
    "move digitalocean -> vm (target digitalocean, moveTo vm) under load at the old address: the droplet (booted from the program's user_data, its database the managed PostgreSQL stand-in, its buckets in the Spaces stand-in) deployed first, then moved onto a disposable vm host",
    async (ctx) => {
      await moveDigitalOceanToVm(moveDeps(ctx));
      return ctx.figures;
    },
  ],
];

async function s15DiskLost(ctx: Ctx): Promise<Record<string, unknown>> {
  // What the scenario records on the way (the new host's deploy, restore times, the bucket's backups) and its summary.
  const summary = await diskLost({
    appDir: ctx.appDir,
    host: (c) => host(ctx, c),
    psql: (sql) => psql(sql),
    purgeProject,
    redeploy: async () => {
      // A new disk remembers nothing: every step runs again, as on a bare host.
      ctx.applier = new Applier();
      const t0 = Date.now();
      const reports = await apply(ctx, ctx.lastPlan!);
      return { steps: reports.length, seconds: (Date.now() - t0) / 1000 };
    },
    waitServing: async () => {
      ctx.target.ca = undefined;
      await readCaddyRoot(ctx);
      return waitHealthy(ctx, 180);
    },
    record: (f) => record(ctx, f),
    check,
  });
  return { ...ctx.figures, ...summary };
}

async function s12FailedDeploy(ctx: Ctx): Promise<Record<string, unknown>> {
  await sFailedDeploy({
    appDir: ctx.appDir,
    work: ctx.work,
    tags: ctx.tags,
    stack: () => ctx.stack,
    planFor: (change) => planFor(ctx, change),
    applyQuiet: (p) => ctx.applier.apply(p),
    underLoad: (device, action, opts) => underLoad(ctx, device, action, opts),
    backendRelease: () => backendRelease(ctx),
    waitHealthy: (t) => waitHealthy(ctx, t),
    lossFigures,
    record: (fig) => record(ctx, fig),
    check,
  });
  return ctx.figures;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const results: {
    date: string;
    machine: Record<string, unknown>;
    program: Record<string, unknown>;
    images: Record<string, string>;
    not_stood_in: string[];
    scenarios: Record<string, ScenarioResult & { title: string }>;
    ok: boolean;
    total_seconds: number;
  } = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memory_gb: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version },
    program: {
      commit: sh("git", ["-C", path.resolve(__dirname, "..", ".."), "rev-parse", "--short", "HEAD"], { allowFail: true }).stdout.trim(),
      dirty_files: sh("git", ["-C", path.resolve(__dirname, "..", ".."), "status", "--porcelain"], { allowFail: true })
        .stdout.split("\n")
        .filter(Boolean).length,
    },
    images: {},
    not_stood_in: NOT_STOOD_IN,
    scenarios: {},
    ok: true,
    total_seconds: 0,
  };
  console.log("== images");
  ensureBaseImage();
  const tags: Record<string, string> = {};
  for (const s of [...INFRA_STAND_INS, ...APP_STAND_INS]) tags[s.key] = buildStandIn(s);
  const backendSpec = APP_STAND_INS.find((s) => s.key === "backend")!;
  const release2 = buildStandIn(backendSpec, { APP_RELEASE: "2" }, "-r2");
  results.images = { ...tags, "backend (release 2)": release2 };
  const imagesS = (Date.now() - t0) / 1000;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "freshtrack-e2e-"));
  const testHost = await startTestHost(path.join(work, "host"));
  console.log(`== test host: sshd on 127.0.0.1:${testHost.port}, host key ${testHost.hostKeyLine.slice(0, 40)}…`);
  const appDir = path.join(work, "app");
  // The operator's storage off the host: a second S3 server (the SeaweedFS stand-in) of its own.
  const offhost: OffHostRemote = await startOffHostRemote(tags.objectstore, path.join(work, "offhost"));
  console.log(`== off-host backup remote: ${offhost.endpoint} (bucket ${offhost.bucket})`);
  // Other engineers edit the checkout while this runs: plan every apply from one frozen copy.
  const programRoot = process.env.FT_E2E_NO_SNAPSHOT ? path.resolve(__dirname, "..", "..") : snapshotProgram(path.join(work, "program"));
  const ctx: Ctx = {
    host: testHost,
    work,
    appDir,
    tags,
    release2,
    programRoot,
    applier: new Applier(),
    target: { port: 443 },
    stack: { host: testHost, appDir, tags, backupRemote: offhost.stackRemote },
    plans: [],
    hostOutputs: [],
    publicValues: [],
    figures: {},
  };
  let stop = false;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (!process.env.FT_E2E_KEEP) {
      console.log("\n== cleanup: removing the stack's containers, volumes and network; stopping sshd");
      try {
        purgeProject();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
      fs.rmSync(work, { recursive: true, force: true });
      // A scenario stopped by a signal never reached its own clean-up.
      removeMoveLeftovers();
      removeLogindHost();
    } else console.log(`\n== FT_E2E_KEEP: stack left running; app dir ${appDir}`);
    offhost.stop();
    await testHost.stop();
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const selected = SCENARIOS.filter(([id]) => id === "1" || !only.length || only.includes(id));
    let stackRemoved = false;
    for (const [i, [id, title, fn]] of selected.entries()) {
      if (stop) break;
      if (!stackRemoved && !process.env.FT_E2E_KEEP && selected.slice(i).every(([later]) => OWN_HOSTS.has(later))) {
        console.log(`\n== the test host's stack: removed (no scenario left uses it; ${selected.length - i} on hosts of their own follow)`);
        purgeProject();
        stackRemoved = true;
        (results as Record<string, unknown>).test_host_stack_removed_before = id;
      }
      console.log(`\n== scenario ${id}: ${title}`);
      const s0 = Date.now();
      ctx.figures = {};
      try {
        const figures = await fn(ctx);
        results.scenarios[id] = { title, ok: true, seconds: (Date.now() - s0) / 1000, figures };
        console.log(`   PASS ${JSON.stringify(figures)}`);
      } catch (e) {
        results.ok = false;
        results.scenarios[id] = { title, ok: false, seconds: (Date.now() - s0) / 1000, figures: ctx.figures, error: (e as Error).message };
        console.log(`   FAIL ${(e as Error).message}`);
        if (id === "1") stop = true; // nothing else can run without a stack
      }
    }
  } finally {
    await cleanup();
  }
  if (ctx.applier.incompatibilities.length) {
    results.ok = false;
    (results as Record<string, unknown>).provider_incompatibilities = [...new Set(ctx.applier.incompatibilities)];
    console.log(`\n  FAIL provider compatibility: ${[...new Set(ctx.applier.incompatibilities)].join("; ")}`);
  }
  results.total_seconds = (Date.now() - t0) / 1000;
  (results.machine as Record<string, unknown>).image_build_seconds = Number(imagesS.toFixed(1));
  const dir = path.join(__dirname, "results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${results.date.replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log(`\n== results: ${file}`);
  for (const [id, s] of Object.entries(results.scenarios)) console.log(`  ${s.ok ? "PASS" : "FAIL"} ${id} ${s.title} (${s.seconds.toFixed(0)} s)`);
  console.log(`  total ${results.total_seconds.toFixed(0)} s`);
  const passed = Object.values(results.scenarios).filter((s) => s.ok).length;
  console.log(`e2e: ${passed} passed, ${Object.keys(results.scenarios).length - passed} failed`);
  return results.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(2);
  },
);
