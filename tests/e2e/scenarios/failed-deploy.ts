// e2e scenario: a release whose backend never becomes ready (and whose secrets and files
// change), applied under load. The deploy must fail with a clear message and leave the
// running release exactly as it was: same backend serving, current/previous, APP_DIR/live,
// APP_DIR/secrets and state/secrets.env unchanged, and a `docker restart` of the old
// backend must still run the old secrets. The failed container's output must stay on the
// host (state/logs), never in the step's output. Then a good deploy of the same secrets works.
import * as fs from "fs";
import * as path from "path";
import { PlanResult } from "../../../scripts/lib/program";
import { StackInput, StepError, StepReport } from "../harness";
import { containers, sh } from "../lib/docker";
import { LoadResult } from "../lib/load";

/** What the scenario needs from tests/e2e/run.ts (its context and helpers). */
export interface Kit {
  appDir: string;
  work: string;
  tags: Record<string, string>;
  stack: () => StackInput;
  planFor(change: Partial<StackInput>): Promise<PlanResult>;
  /** The remote steps of a plan, without run.ts's console dump of a failing step. */
  applyQuiet(p: PlanResult): Promise<StepReport[]>;
  underLoad<T>(device: string, action: () => Promise<T>, opts?: { after?: number }): Promise<{ load: LoadResult; stored: number; value: T }>;
  backendRelease(): Promise<string>;
  waitHealthy(timeoutS: number): Promise<number>;
  lossFigures(load: LoadResult, stored: number): Record<string, unknown>;
  record(fig: Record<string, unknown>): void;
  check(cond: boolean, msg: string): void;
}

/** A line the never-ready backend prints: it must reach state/logs on the host and never the step's output. */
export const NEVER_READY_MARKER = "E2E-NEVER-READY-MARKER";

/** The stand-in backend image with an entry point that answers 503 on every path (readiness never passes). */
export function buildNeverReadyBackend(work: string, base: string): string {
  const dir = path.join(work, "never-ready");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "index.js"),
    `console.log(${JSON.stringify(`${NEVER_READY_MARKER}: this backend never becomes ready`)});\n` +
      `require("http").createServer((q, s) => { s.writeHead(503); s.end("never ready"); }).listen(3000);\n`,
  );
  // Same image, same user; only the entry script differs (the compose command runs dist/src/index.js).
  fs.writeFileSync(path.join(dir, "Dockerfile"), `FROM ${base}\nCOPY index.js /app/dist/src/index.js\n`);
  const tag = `${base.split(":")[0]}:never-ready`;
  const r = sh("docker", ["build", "-q", "-t", tag, dir], { timeoutMs: 300000 });
  if (r.code !== 0) throw new Error(`building ${tag} failed: ${r.stderr}`);
  return tag;
}

const readLink = (p: string) => {
  if (!fs.existsSync(p)) return "(none)";
  return fs.lstatSync(p).isSymbolicLink() ? fs.readlinkSync(p) : `(a ${fs.lstatSync(p).isDirectory() ? "directory" : "file"}, not a link)`;
};
const readText = (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : "(none)");

/** What the running release reads, as paths and digests of contents (never the secret values). */
function hostSnapshot(appDir: string): Record<string, string> {
  const digest = (p: string) => sh("sha256sum", [p], { allowFail: true }).stdout.slice(0, 16);
  return {
    current: readLink(path.join(appDir, "current")),
    previous: readLink(path.join(appDir, "previous")),
    secrets: readLink(path.join(appDir, "secrets")),
    "state/secrets.env": digest(path.join(appDir, "state", "secrets.env")),
    "live/.release": readText(path.join(appDir, "live", ".release")).trim(),
    "live/compose.yml": digest(path.join(appDir, "live", "compose.yml")),
  };
}

/** sha256 of a file inside a container (compared, never printed). */
function inContainerDigest(id: string, file: string): string {
  const r = sh("docker", ["exec", id, "sh", "-c", `sha256sum < ${file}`], { allowFail: true });
  return r.code === 0 ? r.stdout.slice(0, 64) : `error ${r.code}`;
}
const fileDigest = (p: string) => sh("sh", ["-c", 'sha256sum < "$1"', "d", p]).stdout.slice(0, 64);

export async function sFailedDeploy(k: Kit): Promise<Record<string, unknown>> {
  const bad = buildNeverReadyBackend(k.work, k.tags.backend);
  const goodTag = k.stack().backendTag;
  const jwtGen = (k.stack().jwtSecretGeneration ?? 1) + 1;
  const before = hostSnapshot(k.appDir);
  const oldBackend = containers("backend");
  k.check(oldBackend.length === 1, `expected one running backend, found ${oldBackend.length}`);
  const releaseBefore = await k.backendRelease();
  const oldJwt = fileDigest(path.join(k.appDir, "secrets", "app", "JWT_SECRET"));

  // Under load: a new release whose backend never gets ready, with a rotated JWT secret.
  const device = `s11-failed-${Date.now()}`;
  let failure: StepError | undefined;
  const { load, stored, value } = await k.underLoad(device, async () => {
    const p = await k.planFor({ backendTag: bad, jwtSecretGeneration: jwtGen });
    try {
      return await k.applyQuiet(p);
    } catch (e) {
      if (e instanceof StepError) failure = e;
      else throw e;
      return [];
    }
  });
  const out = failure ? failure.stdout + failure.stderr : "";
  const message = out.split("\n").find((l) => / FAILED in step /.test(l)) ?? "";
  const logFile = /logs are on this host in (\S+\.log)/.exec(out)?.[1] ?? "";
  const after = hostSnapshot(k.appDir);
  const releaseAfter = await k.backendRelease();
  const newJwt = fileDigest(path.join(k.appDir, "secrets.d", readText(path.join(k.appDir, "secrets.d", ".staged")).trim(), "app", "JWT_SECRET"));
  k.record({
    failed_step: failure?.step ?? "(none: the apply succeeded)",
    steps_run: value.map((r) => r.name),
    message: message.replace(/^\S+ deploy: /, ""),
    failed_deploy: k.lossFigures(load, stored),
    backend_release_before_after: [releaseBefore, releaseAfter],
    host_unchanged: JSON.stringify(before) === JSON.stringify(after),
    host_after: after,
    container_log_file: logFile,
  });
  k.check(failure?.step === "deploy", `expected the deploy step to fail, got ${failure ? failure.step : "success"}`);
  k.check(/FAILED in step roll .*bin\/rollback is not needed/.test(message), `no clear failure message in the deploy output:\n${out.slice(-1500)}`);
  k.check(load.sent - stored === 0, `the failed deploy lost ${load.sent - stored} of ${load.sent} readings`);
  k.check(load.acked === load.sent, `the failed deploy refused ${load.sent - load.acked} readings`);
  k.check(releaseAfter === releaseBefore, `backend release ${releaseAfter} after the failed deploy, was ${releaseBefore}`);
  k.check(
    JSON.stringify(before) === JSON.stringify(after),
    `the failed deploy changed the running release's files/links: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
  );
  k.check(JSON.stringify(containers("backend")) === JSON.stringify(oldBackend), "the old backend container was replaced");
  k.check(newJwt !== oldJwt, "the rotated JWT secret was not written as a new generation");
  // Item 12: the container's output is on the host, not in the step's output (Pulumi state).
  k.check(!out.includes(NEVER_READY_MARKER), "the failed container's logs reached the deploy step's output");
  k.check(
    logFile.startsWith(path.join(k.appDir, "state", "logs") + "/") && readText(logFile).includes(NEVER_READY_MARKER),
    `the failed container's logs are not in ${logFile || "a named file under state/logs"}`,
  );

  // A restart of the old backend (crash, reboot) runs the old secrets.
  const t0 = Date.now();
  sh("docker", ["restart", oldBackend[0]]);
  await k.waitHealthy(120);
  const restartS = (Date.now() - t0) / 1000;
  const jwtAfterRestart = inContainerDigest(oldBackend[0], "/run/secrets/env/JWT_SECRET");
  const mounts = sh("docker", ["inspect", "-f", "{{range .Mounts}}{{println .Source}}{{end}}", oldBackend[0]])
    .stdout.split("\n")
    .filter((m) => m.includes("/secrets"));
  k.record({ restart_old_backend_seconds: Number(restartS.toFixed(1)), old_backend_secret_mounts: [...new Set(mounts.map((m) => m.replace(/\/[^/]+$/, "")))] });
  k.check(jwtAfterRestart === oldJwt, "the restarted old backend does not see its own JWT_SECRET");
  k.check((await k.backendRelease()) === releaseBefore, "the restarted backend runs another release");

  // The good deploy that follows (same rotated secrets, the previous image) works.
  const device2 = `s11-good-${Date.now()}`;
  const good = await k.underLoad(device2, async () => k.applyQuiet(await k.planFor({ backendTag: goodTag, jwtSecretGeneration: jwtGen })));
  const newBackend = containers("backend");
  const jwtNow = newBackend.length === 1 ? inContainerDigest(newBackend[0], "/run/secrets/env/JWT_SECRET") : "?";
  k.record({
    good_deploy: { ...k.lossFigures(good.load, good.stored), steps_run: good.value.filter((r) => r.action !== "unchanged").map((r) => r.name) },
    secrets_after_good_deploy: readLink(path.join(k.appDir, "secrets")),
    old_generation_removed: !fs.existsSync(path.join(k.appDir, before.secrets)),
  });
  k.check(good.load.sent - good.stored === 0, `the good deploy lost ${good.load.sent - good.stored} readings`);
  k.check(jwtNow === newJwt, "the backend after the good deploy does not run the rotated JWT_SECRET");
  k.check(readLink(path.join(k.appDir, "secrets")) !== before.secrets, "APP_DIR/secrets was not switched by the good deploy");
  k.check((await k.backendRelease()) === releaseBefore, "the good deploy changed the backend release");
  return {};
}
