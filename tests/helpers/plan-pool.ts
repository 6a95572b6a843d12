// A pool of pre-warmed program processes for the stack tests. Pulumi's mock
// runtime holds one stack per process, so every program run is a new process;
// most of a fresh process's time went into loading TypeScript and the SDKs.
// Here each child (tests/helpers/plan-child.js) loads the SDKs before it is
// needed, from a transpile and bytecode cache (tests/helpers/ts-cache.js), then
// runs exactly one request and exits. While the test process waits for one
// child, the next one warms up on the other core.
//
// The API stays synchronous (tests call plan() in before hooks and at top level):
// requests and results travel through files in a private directory, and the
// caller sleeps between looks. `FT_PLAN_POOL=0` runs every request in a plain
// `node -r ts-node/register/transpile-only` process instead, as before the pool.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const CHILD = path.join(__dirname, "plan-child.js");
const TS_CACHE = path.join(__dirname, "ts-cache.js");
/** Warm children kept waiting: a refused config takes a tenth of a second, the next child should be ready by then. */
const WARM = Number(process.env.FT_PLAN_POOL ?? "2");
/** Longest a single program run may take before the pool gives up on it. */
const RUN_TIMEOUT_MS = 10 * 60 * 1000;

export interface RunOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

export type Request = { plan: string[]; env?: Record<string, string> } | { script: string; env?: Record<string, string> };

interface Warm {
  child: ChildProcess;
  dir: string;
}

let session: string | undefined;
let serial = 0;
const warm: Warm[] = [];

function sessionDir(): string {
  if (!session) {
    session = fs.mkdtempSync(path.join(os.tmpdir(), "ft-plan-pool-"));
    process.on("exit", () => {
      for (const w of warm.splice(0)) w.child.kill();
      fs.rmSync(session!, { recursive: true, force: true });
    });
  }
  return session;
}

function startChild(): Warm {
  const dir = path.join(sessionDir(), String(++serial));
  fs.mkdirSync(dir);
  const out = fs.openSync(path.join(dir, "stdout"), "w");
  const err = fs.openSync(path.join(dir, "stderr"), "w");
  const child = spawn(process.execPath, ["-r", TS_CACHE, CHILD, dir], {
    cwd: ROOT,
    stdio: ["ignore", out, err],
    // Pulumi captures a stack trace per resource: mapping them to TypeScript lines cost a fifth of a run.
    env: { ...process.env, FT_TS_SOURCE_MAPS: "0" },
  });
  fs.closeSync(out);
  fs.closeSync(err);
  child.unref(); // the test process may exit with a warm child still waiting
  return { child, dir };
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

/** Runs one request in a fresh process and waits for it (synchronously). */
export function runInChild(request: Request): RunOutcome {
  if (WARM <= 0) return runPlain(request);
  const w = warm.shift() ?? startChild();
  while (warm.length < WARM) warm.push(startChild());
  const tmp = path.join(w.dir, "request.tmp");
  fs.writeFileSync(tmp, JSON.stringify(request));
  fs.renameSync(tmp, path.join(w.dir, "request.json"));
  const statusFile = path.join(w.dir, "status");
  const started = Date.now();
  let pause = 2;
  while (!fs.existsSync(statusFile)) {
    if (exited(w.child.pid!) && !fs.existsSync(statusFile)) break; // killed before it could say how it ended
    if (Date.now() - started > RUN_TIMEOUT_MS) {
      w.child.kill();
      break;
    }
    sleep(pause);
    pause = Math.min(pause * 2, 20);
  }
  const read = (f: string) => fs.readFileSync(path.join(w.dir, f), "utf8");
  const text = fs.existsSync(statusFile) ? read("status") : "";
  const status = /^\d+$/.test(text) ? Number(text) : null;
  const outcome = { status, stdout: read("stdout"), stderr: read("stderr") };
  fs.rmSync(w.dir, { recursive: true, force: true });
  logRun(request, started, status);
  return outcome;
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
