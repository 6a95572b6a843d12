// Program runs for the stack tests. Loading TypeScript and the SDKs costs a fresh
// process more than most runs themselves, so the runs go to one long-lived child
// (tests/helpers/plan-child.js) that loads the SDKs once and runs request after
// request, each in a Pulumi run state of its own (the SDK's `withLocalStorage`,
// as the Automation API runs inline programs) and with the repository's modules
// evaluated afresh: a request sees what a fresh process would
// (tests/stacks/plan-pool.test.ts compares the plans byte for byte).
//
// The API stays synchronous (tests call plan() in before hooks and at top level):
// requests and results travel through files in a private directory, and the
// caller sleeps between looks. `FT_PLAN_POOL=0` runs every request in a plain
// `node -r ts-node/register/transpile-only` process instead; `FT_PLAN_RUNS=N`
// replaces the child after N requests (1: a fresh process per request).
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const CHILD = path.join(__dirname, "plan-child.js");
const TS_CACHE = path.join(__dirname, "ts-cache.js");
const POOL = process.env.FT_PLAN_POOL !== "0";
/** Requests one child serves before a fresh one takes over (0: no limit). */
const RUNS_PER_CHILD = Number(process.env.FT_PLAN_RUNS ?? "0");
/** Longest a single program run may take before the pool gives up on it. */
const RUN_TIMEOUT_MS = 10 * 60 * 1000;

export interface RunOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Which pooled child ran it and how many requests it had run before (absent for a fresh process). */
  child?: { pid: number; runsBefore: number };
}

export type Request = { plan: string[]; env?: Record<string, string> } | { script: string; env?: Record<string, string> };

interface Child {
  proc: ChildProcess;
  dir: string;
  runs: number;
}

let session: string | undefined;
let serial = 0;
let active: Child | undefined;
/** Started ahead of need: the next child when the active one reaches its limit. */
let spare: Child | undefined;

function sessionDir(): string {
  if (!session) {
    session = fs.mkdtempSync(path.join(os.tmpdir(), "ft-plan-pool-"));
    // Tests done: the children are told to quit and waited for (so that `time npm test`
    // counts their CPU); killed if the test process exits some other way.
    process.once("beforeExit", () => {
      for (const c of [active, spare]) {
        if (!c) continue;
        c.proc.ref();
        fs.writeFileSync(path.join(c.dir, "quit"), "");
      }
    });
    process.on("exit", () => {
      for (const c of [active, spare]) c?.proc.kill();
      fs.rmSync(session!, { recursive: true, force: true });
    });
  }
  return session;
}

function spawnLogged(args: string[], dir: string, env: NodeJS.ProcessEnv, program = process.execPath): ChildProcess {
  const out = fs.openSync(path.join(dir, "stdout"), "w");
  const err = fs.openSync(path.join(dir, "stderr"), "w");
  const proc = spawn(program, args, { cwd: ROOT, stdio: ["ignore", out, err], env });
  fs.closeSync(out);
  fs.closeSync(err);
  proc.unref(); // the test process may exit with a child still waiting
  return proc;
}

function newDir(): string {
  const dir = path.join(sessionDir(), String(++serial));
  fs.mkdirSync(dir);
  return dir;
}

function startChild(): Child {
  const dir = newDir();
  // Pulumi captures a stack trace per resource: mapping them to TypeScript lines cost a fifth of a run.
  const proc = spawnLogged(["-r", TS_CACHE, CHILD, dir], dir, { ...process.env, FT_TS_SOURCE_MAPS: "0" });
  return { proc, dir, runs: 0 };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/** True once the process has exited (a zombie counts: we cannot reap it while blocked). */
function exited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Sleeps until `file` exists, the process is gone, or the timeout: whether the file came. */
function waitFor(file: string, proc: ChildProcess): boolean {
  const started = Date.now();
  let pause = 1;
  while (!fs.existsSync(file)) {
    if (exited(proc.pid!)) return fs.existsSync(file);
    if (Date.now() - started > RUN_TIMEOUT_MS) {
      proc.kill();
      return false;
    }
    sleep(pause);
    pause = Math.min(pause * 2, 10);
  }
  return true;
}

const readOr = (file: string, fallback = "") => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : fallback);

/** Runs one request in the pooled child and waits for it (synchronously), as a fresh process would run it. */
export function runInChild(request: Request): RunOutcome {
  if (!POOL) return runPlain(request);
  const started = Date.now();
  for (;;) {
    if (!active || exited(active.proc.pid!)) {
      active = spare ?? startChild();
      spare = undefined;
    }
    const c = active;
    const n = ++c.runs;
    if (RUNS_PER_CHILD > 0 && n >= RUNS_PER_CHILD) {
      // Its last request: the next child warms up meanwhile.
      active = undefined;
      spare ??= startChild();
    }
    const at = (suffix: string) => path.join(c.dir, `${n}.${suffix}`);
    fs.writeFileSync(at("tmp"), JSON.stringify(request));
    fs.renameSync(at("tmp"), at("json"));
    const answered = waitFor(at("status"), c.proc);
    let outcome: RunOutcome;
    if (answered) {
      const text = readOr(at("status"));
      outcome = { status: /^\d+$/.test(text) ? Number(text) : null, stdout: readOr(at("stdout")), stderr: readOr(at("stderr")) };
    } else {
      c.proc.kill();
      if (active === c) active = undefined;
      // A child that retired before taking the request (see plan-child.js): the next one runs it.
      if (fs.existsSync(at("json"))) {
        retire(c);
        continue;
      }
      // It died or hung while running it: report what it printed itself.
      outcome = { status: null, stdout: "", stderr: readOr(path.join(c.dir, "stderr")) || "plan pool: the child ended without answering" };
    }
    outcome.child = { pid: c.proc.pid!, runsBefore: n - 1 };
    for (const s of ["json", "taken", "stdout", "stderr", "status"]) fs.rmSync(at(s), { force: true });
    if (active !== c) retire(c);
    logRun(request, started, outcome.status);
    return outcome;
  }
}

function retire(c: Child) {
  c.proc.kill();
  fs.rmSync(c.dir, { recursive: true, force: true });
}

/**
 * A request in a process of its own, started now (it runs while the caller does other
 * work): wait() for its outcome. `loader` "ts-cache" as the pool loads TypeScript,
 * "ts-node" as `npm run plan` does (what runPlain runs).
 */
export function startFresh(request: Request, loader: "ts-cache" | "ts-node" = "ts-cache"): { wait: () => RunOutcome } {
  const dir = newDir();
  const args = "plan" in request ? [path.join(ROOT, "scripts", "plan.ts"), ...request.plan] : ["-e", request.script];
  const env =
    loader === "ts-cache" ? { ...process.env, FT_TS_SOURCE_MAPS: "0", ...request.env } : { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...request.env };
  const register = loader === "ts-cache" ? TS_CACHE : "ts-node/register/transpile-only";
  // Through sh, which writes the exit status to a file: blocked, we would never see the exit event.
  // Aside, then renamed: `echo > FILE` creates the file before it writes, and a look in between
  // read an empty status (null; seen once in CI).
  const proc = spawnLogged(
    ["-c", '"$@"; echo $? > "$0.tmp"; mv "$0.tmp" "$0"', path.join(dir, "status"), process.execPath, "-r", register, ...args],
    dir,
    env,
    "/bin/sh",
  );
  return {
    wait() {
      const answered = waitFor(path.join(dir, "status"), proc);
      const text = readOr(path.join(dir, "status")).trim();
      const outcome = {
        status: answered && /^\d+$/.test(text) ? Number(text) : null,
        stdout: readOr(path.join(dir, "stdout")),
        stderr: readOr(path.join(dir, "stderr")),
      };
      fs.rmSync(dir, { recursive: true, force: true });
      return outcome;
    },
  };
}

/** The same request in a plain ts-node process, without the pool. */
export function runPlain(request: Request): RunOutcome {
  const started = Date.now();
  const args = "plan" in request ? [path.join(ROOT, "scripts", "plan.ts"), ...request.plan] : ["-e", request.script];
  const p = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...request.env },
  });
  logRun(request, started, p.status);
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

/** `FT_PLAN_LOG=FILE`: one JSON line per run (what, how long the caller waited), for the figures in docs/testing.md. */
function logRun(request: Request, started: number, status: number | null) {
  if (!process.env.FT_PLAN_LOG) return;
  const what = "plan" in request ? request.plan.filter((a) => a !== "--reveal-secrets").join(" ") : "script";
  fs.appendFileSync(process.env.FT_PLAN_LOG, `${JSON.stringify({ waitedMs: Date.now() - started, status, what: what.slice(0, 300) })}\n`);
}
