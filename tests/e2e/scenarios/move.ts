// Scenario 14: a customer moved from one vm host to a new one (moveTo vm) under load, on two
// disposable hosts (lib/disposable-host.ts), each with its own Docker engine. The OLD host is
// deployed by the program's own steps as scenario 1 does; then the program is planned for each
// phase (prepare, cutover, retire) with the previous run's outputs as the stack's last
// deployment, and every remote step of the plan runs over real SSH in the engine's order
// (harness.ts: both hosts' steps plus the move's). The load keeps hitting the OLD address the
// whole time, as sensors do until DNS has moved. Also: a plain target change is refused and
// leaves the old host untouched.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Applier, StackInput, StepError, StepReport, plan } from "../harness";
import { DisposableHost, hostImage, loadImages, onHost, removeHostsNetwork, startDisposableHost } from "../lib/disposable-host";
import { LoadGenerator, LoadResult, Target, devEui, httpsRequest, postUplink, uplink } from "../lib/load";
import { APP_CONTRACT } from "../../../core/app-contract";
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

/** The app's directory on both hosts (any absolute path: the program creates it). */
const APP_DIR = "/srv/freshtrack";
const ORG_SECRET = "e2e-move-org-webhook-secret-0001";
const READINGS = APP_CONTRACT.readingsTable;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");
const secs = (ms: number) => Number((ms / 1000).toFixed(1));

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

/** Row count of every table of the app's schema. */
function tableCounts(h: DisposableHost): Record<string, number> {
  const rows = psqlOn(
    h,
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
function storedOn(h: DisposableHost, device: string): Set<number> {
  const out = psqlOn(h, `SELECT DISTINCT r.f_cnt FROM ${READINGS} r JOIN devices d ON d.id = r.device_id WHERE d.device_id = '${device}'`);
  return new Set(out.split("\n").filter(Boolean).map(Number));
}

/**
 * rclone as the host's bin/* run it: the release's image on the Compose network, the backup job's config.
 * The app's bucket through the host store's admin identity (`admin_remote`, as bin/restore --uploads
 * writes it): the backup identity may only read it.
 */
function rcloneOn(h: DisposableHost, args: string, base64Input?: string) {
  const rel = `${APP_DIR}/current/release.json`;
  return onHost(
    h,
    `bucket="$(jq -r '.backup.admin_remote // .backup.remote' ${rel}):$(jq -r .assets_bucket ${rel})"; ${base64Input ? "base64 -d | " : ""}docker run --rm -i --network "$(jq -r .database.network ${rel})" ` +
      `-v ${APP_DIR}/secrets/backup/rclone.conf:/config/rclone/rclone.conf:ro "$(jq -r .images.rclone ${rel})" --config /config/rclone/rclone.conf ${args}`,
    { input: base64Input },
  );
}

function objectsOn(h: DisposableHost): { count: number; bytes: number } {
  const r = JSON.parse(rcloneOn(h, `size --json "$bucket"`).stdout) as { count: number; bytes: number };
  return { count: r.count, bytes: r.bytes };
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

export async function moveVmToVm(d: MoveDeps): Promise<Record<string, unknown>> {
  const tHosts = Date.now();
  const image = hostImage();
  const oldHost = await startDisposableHost("freshtrack-e2e-old", path.join(d.work, "hosts", "old"), image);
  const newHost = await startDisposableHost("freshtrack-e2e-new", path.join(d.work, "hosts", "new"), image);
  try {
    await loadImages([oldHost, newHost], [...new Set(Object.values(d.tags))]);
    d.record({ hosts: { old: oldHost.host, new: newHost.host, image, seconds_to_start_and_load_images: secs(Date.now() - tHosts) } });

    const applier = new Applier();
    // The move's transfer key as the tls provider keeps it in state: one real ED25519 key for every phase.
    const keyFile = path.join(d.work, "hosts", "move-transfer-key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyFile], { stdio: "ignore" });
    const transferKey = {
      privateKeyOpenssh: fs.readFileSync(keyFile, "utf8"),
      publicKeyOpenssh: fs.readFileSync(`${keyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ") + "\n",
    };
    let stack: StackInput = {
      host: oldHost,
      appDir: APP_DIR,
      tags: d.tags,
      stateOutputs: { "tls:index/privateKey:PrivateKey::move-transfer-key": transferKey },
    };
    let last: PlanResult | undefined;
    const planFor = async (change: Partial<StackInput>) => {
      stack = { ...stack, ...change };
      last = await plan(stack, d.work, d.programRoot);
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

    // 1. The old host, deployed as any vm host is.
    let t0 = Date.now();
    await apply(await planFor({}));
    const deployS = secs(Date.now() - t0);
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
    psqlOn(oldHost, `INSERT INTO organizations (name, webhook_secret_hash) VALUES ('e2e-move-org', '${sha256(ORG_SECRET)}') ON CONFLICT DO NOTHING`);
    const device = `s14-move-${Date.now()}`;
    psqlOn(
      oldHost,
      `INSERT INTO devices (organization_id, device_id, dev_eui) SELECT id, '${device}', '${devEui(device)}' FROM organizations WHERE webhook_secret_hash = '${sha256(ORG_SECRET)}'`,
    );
    const first = await postUplink(target, uplink(device, 0));
    d.check(first.status >= 200 && first.status < 300, `a reading on the old host: ${first.status} ${first.body}`);
    // Uploads of the app (every byte value), in the old side's bucket.
    for (const [i, size] of [4096, 70000, 1].entries()) {
      const bytes = Buffer.from(Array.from({ length: size }, (_, j) => (j * 31 + i) % 256));
      const put = rcloneOn(oldHost, `rcat "$bucket/e2e-org/photos/cooler-${i}.bin"`, bytes.toString("base64"));
      d.check(put.code === 0, `cannot put an upload on the old host: ${put.stderr}`);
    }
    d.record({ old_host_deploy_seconds: deployS });

    // 2. A plain target change is refused before anything runs; the old host is untouched.
    const deployed = last!.outputs;
    const before = containersOn(oldHost);
    let refusal = "";
    try {
      await plan(
        { ...stack, extraConfig: { target: "digitalocean", doManageDns: "false", doSshCidrs: JSON.stringify(["198.51.100.7/32"]) }, previousOutputs: deployed },
        d.work,
        d.programRoot,
      );
    } catch (e) {
      refusal = (e as Error).message;
    }
    const after = containersOn(oldHost);
    const refusalLine = refusal.split("\n").find((l) => /target changed from/.test(l)) ?? refusal.slice(0, 300);
    d.record({
      plain_target_change: {
        refused: /target changed from vm \(deployed\) to digitalocean/.test(refusal),
        message: refusalLine,
        old_host_containers_unchanged: JSON.stringify(before) === JSON.stringify(after),
        containers: before.length,
      },
    });
    d.check(
      /target changed from vm \(deployed\) to digitalocean/.test(refusal),
      `a plain target change was not refused: ${refusal.slice(0, 500) || "the program planned it"}`,
    );
    d.check(before.length > 0 && JSON.stringify(before) === JSON.stringify(after), "the refused target change changed containers on the old host");

    // 3. The move, phase by phase, under load at the OLD address.
    const moveKeys = (phase: string) => ({
      extraConfig: { moveTo: "vm", movePhase: phase, moveVmHost: newHost.host, moveVmPort: "22", moveVmUser: "root", moveVmHostKey: newHost.hostKeyLine },
      extraSecrets: { moveVmSshPrivateKey: newHost.privateKey },
    });
    const gen = new LoadGenerator(target, device, d.rate);
    const phases: Record<string, { seconds: number; steps_run: string[] }> = {};
    let cutoverReport: Record<string, unknown> | undefined;
    let prepareReport: Record<string, unknown> | undefined;
    let lastBeforeForward = 0;
    const tMove = Date.now();
    gen.start();
    let load: LoadResult;
    try {
      await sleep(3000);
      for (const phase of ["prepare", "cutover", "retire"]) {
        t0 = Date.now();
        const p = await planFor({ ...moveKeys(phase), previousOutputs: last!.outputs });
        const reports = await apply(p);
        phases[phase] = { seconds: secs(Date.now() - t0), steps_run: reports.filter((r) => r.action !== "unchanged").map((r) => `${r.name}:${r.action}`) };
        if (phase === "prepare") prepareReport = importReport(reports, "move-copy");
        if (phase === "cutover") {
          cutoverReport = importReport(reports, "move-cutover");
          // Every reading sent from here on reaches the old address after the cutover finished.
          lastBeforeForward = gen.lastSent;
          await sleep(10000);
        }
      }
      await sleep(3000);
    } finally {
      load = await gen.stop();
    }
    const moveS = secs(Date.now() - tMove);
    await sleep(1000);

    // 4. Figures, read on both hosts.
    const onNew = storedOn(newHost, device);
    const onOld = storedOn(oldHost, device);
    // Frame counter 0 is the reading sent before the load; the load's are 1..lastSent.
    const loadOnNew = [...onNew].filter((f) => f > 0).length;
    const notStored = [...Array(gen.lastSent).keys()].map((i) => i + 1).filter((f) => !onNew.has(f));
    const failedAt = notStored.flatMap((f) => (gen.attempts.get(f) ?? []).map((a) => a.split(" ")[0])).sort();
    const sentAfter = gen.lastSent - lastBeforeForward;
    const storedAfter = [...onNew].filter((f) => f > lastBeforeForward).length;
    const tablesOld = tableCounts(oldHost);
    const tablesNew = tableCounts(newHost);
    const objectsOld = objectsOn(oldHost);
    const objectsNew = objectsOn(newHost);
    const salt = { old: saltDigest(oldHost), new: saltDigest(newHost) };
    const newOnly = [...onNew].filter((f) => !onOld.has(f)).length;
    const oldMissingOnNew = [...onOld].filter((f) => !onNew.has(f));
    const ackedNotStored = notStored.filter((f) => gen.acked.has(f));
    // The old side's request holder: its counts (it logs no header or body).
    const holderLog = onHost(oldHost, "docker logs --tail 12 freshtrack-move-hold 2>&1", { allowFail: true }).stdout.trim().split("\n");
    d.record({
      old_side_holder_log: holderLog,
      not_stored_attempts: notStored.slice(0, 5).map((f) => `${f}: ${(gen.attempts.get(f) ?? []).join(", ")}`),
      // Held longer than the client waited (15 s, no retry): the client saw a timeout, the reading is stored.
      client_timed_out_but_stored: [...gen.attempts.entries()].filter(([f, a]) => onNew.has(f) && a.some((x) => x.endsWith(" timeout"))).length,
      readings: { ...d.lossFigures(load, loadOnNew), stored_on_old: [...onOld].filter((f) => f > 0).length },
      lost_readings_answered_between: failedAt.length ? `${failedAt[0]} and ${failedAt[failedAt.length - 1]} UTC` : null,
      sent_to_old_address_after_cutover: sentAfter,
      of_those_stored_on_new: storedAfter,
      write_freeze_seconds: cutoverReport?.freeze_seconds ?? null,
      cutover_report: cutoverReport ?? null,
      prepare_report_ok: prepareReport?.ok ?? null,
      tables: { old: tablesOld, new: tablesNew },
      objects: { old: objectsOld, new: objectsNew },
      ttn_salt_sha256_equal: salt.old === salt.new && salt.old.length === 64,
      phases,
      total_move_seconds: moveS,
    });
    // 5. Assertions (no timing is asserted).
    d.check(!!cutoverReport && cutoverReport.ok === true, `move-cutover's report is not ok: ${JSON.stringify(cutoverReport)}`);
    d.check(salt.old === salt.new && salt.old.length === 64, "the TTN salt differs between the sides");
    d.check(
      JSON.stringify(objectsOld) === JSON.stringify(objectsNew) && objectsOld.count === 3,
      `objects differ: ${JSON.stringify({ objectsOld, objectsNew })}`,
    );
    d.check(oldMissingOnNew.length === 0, `readings stored on the old side are missing on the new one: ${oldMissingOnNew.slice(0, 10).join(",")}`);
    // The old side is frozen since the cutover: every table equal, the readings table plus what only the new side took.
    for (const t of new Set([...Object.keys(tablesOld), ...Object.keys(tablesNew)])) {
      const want = t === READINGS ? tablesOld[t] + newOnly : tablesOld[t];
      d.check(tablesNew[t] === want, `table ${t}: old ${tablesOld[t]}, new ${tablesNew[t]} (expected ${want})`);
    }
    d.check(sentAfter > 0 && storedAfter === sentAfter, `readings sent to the old address after cutover: ${sentAfter}, stored on the new side: ${storedAfter}`);
    d.check(ackedNotStored.length === 0, `acknowledged readings missing on the new side: ${ackedNotStored.slice(0, 10).join(",")}`);
    // Zero loss: from the write freeze on, the old Caddy sends every request to the move's holder
    // (a marker file, no config load), which keeps it until the new side's backend answers and
    // then forwards it there (bin/move-export --freeze / --release). A client that gives up before
    // (15 s here) counts as failed in the figures, but its reading is stored.
    d.check(
      notStored.length === 0,
      `${notStored.length} readings sent to the old address were not stored on the new side, answered ${failedAt[0] ?? "?"}..${failedAt[failedAt.length - 1] ?? "?"} UTC (write freeze ${cutoverReport?.freeze_seconds ?? "?"} s; ${JSON.stringify(load.failures)})`,
    );
    return {};
  } finally {
    if (!process.env.FT_E2E_KEEP) {
      await oldHost.stop();
      await newHost.stop();
      removeHostsNetwork();
    } else console.log(`== FT_E2E_KEEP: hosts ${oldHost.name} (${oldHost.host}) and ${newHost.name} (${newHost.host}) left running`);
  }
}
