// A long-lived program runner for the test pool (tests/helpers/plan-pool.ts).
// `node -r ./tests/helpers/ts-cache.js tests/helpers/plan-child.js DIR`: loads the
// SDKs once, then runs requests one after another, in the order of their number:
//   DIR/N.json {"plan": [ARGS]}              scripts/plan.ts ARGS
//   DIR/N.json {"script": CODE, "env": {..}} CODE as `node -e CODE` would run it from the repository root
// and answers each with DIR/N.stdout, DIR/N.stderr, then DIR/N.status (its exit code).
//
// Each request behaves as in a fresh process (tests/stacks/plan-pool.test.ts proves
// the plans byte-identical):
// - the Pulumi runtime's state lives in a store of its own (the SDK's `withLocalStorage`,
//   what the Automation API uses to run inline programs): mocks, config, stack and
//   project, stack resource, registrations, transformations, pending promises;
// - the repository's own modules are evaluated again (index.ts declares the resources
//   at load; no module keeps anything from the last request); packages stay loaded;
// - process.env, process.argv, process.exitCode and process listeners are restored after it;
// - process.exit(code) ends the request, not the child; otherwise it ends when nothing
//   of it is left to run (the moment a fresh process would exit), and the SDK's
//   leaked-promise check runs then, as at a fresh process's exit;
// - what it prints goes to its own files, never to another request's.
"use strict";
const { AsyncLocalStorage } = require("async_hooks");
const fs = require("fs");
const Module = require("module");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const dir = process.argv[2];

// Pulumi captures and formats a stack trace for every promise it creates (only ever
// shown in a report of promises left pending at exit): in a run of the aws stack that
// was 40% of the CPU. So errors in the pool carry no frames (the plans are the same:
// its resource source positions set their own limit); FT_PLAN_STACK_TRACES=1 keeps
// Node's default, to debug a failing run.
if (process.env.FT_PLAN_STACK_TRACES !== "1") Error.stackTraceLimit = 0;

// Only packages: the program's own modules load per request.
for (const pkg of [
  "@pulumi/pulumi",
  "@pulumi/aws",
  "@pulumi/digitalocean",
  "@pulumi/command",
  "@pulumi/random",
  "@pulumi/tls",
  "@pulumi/docker",
  "yaml",
  "zod",
])
  require(pkg);
const pulumiState = require("@pulumi/pulumi/runtime/state");
const pulumiLog = require("@pulumi/pulumi/log");
const debuggable = require("@pulumi/pulumi/runtime/debuggable");

/** Which request the running code belongs to (follows it through promises and timers). */
const owner = new AsyncLocalStorage();
/** The request being run, if any: { n, out: Buffer[], err: Buffer[], store, done }. */
let current;
let served = 0;

/** Thrown by process.exit inside a request: unwinds its code; never reported. */
class RequestExit extends Error {}

const realExit = process.exit.bind(process);
const realWrite = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };

function capture(stream, which) {
  stream.write = function (chunk, encoding, cb) {
    const req = owner.getStore() ?? current;
    if (!req) return realWrite[which](chunk, encoding, cb);
    // A request that already ended prints nothing more, as a process that exited.
    if (!req.done) req[which].push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof encoding === "string" ? encoding : "utf8"));
    const done = typeof encoding === "function" ? encoding : cb;
    if (typeof done === "function") process.nextTick(done);
    return true;
  };
}
capture(process.stdout, "out");
capture(process.stderr, "err");

process.exit = function (code) {
  const req = owner.getStore() ?? current;
  if (!req) return realExit(code);
  finish(req, code === undefined ? (process.exitCode ?? 0) : Number(code));
  throw new RequestExit(`process.exit(${code}) inside request ${req.n}`);
};

function failed(e) {
  if (e instanceof RequestExit) return;
  const req = owner.getStore() ?? current;
  // Between requests only what an ended request left behind runs: its errors reach nobody.
  if (!req || req.done) {
    realWrite.err(`plan-child: after its request ended: ${e && e.stack ? e.stack : e}\n`);
    return;
  }
  // What Node prints and does for an uncaught error: the stack on stderr, exit code 1.
  req.err.push(Buffer.from(`${e && e.stack ? e.stack : `Uncaught ${String(e)}`}\n\nNode.js ${process.version}\n`));
  finish(req, 1);
}
process.on("uncaughtException", failed);
process.on("unhandledRejection", failed);

/** The repository's own modules (not packages, not this runner): evaluated afresh per request. */
function forgetOwnModules() {
  for (const file of Object.keys(require.cache)) {
    if (!file.startsWith(ROOT + path.sep) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (file === __filename || file === path.join(__dirname, "ts-cache.js")) continue;
    delete require.cache[file];
  }
}

const EVENTS = ["exit", "beforeExit", "uncaughtException", "unhandledRejection", "warning", "SIGINT", "SIGTERM"];
let baseline; // the process as it is between requests

function snapshot() {
  return {
    env: { ...process.env },
    argv: process.argv.slice(),
    listeners: Object.fromEntries(EVENTS.map((e) => [e, process.listeners(e)])),
    resources: process.getActiveResourcesInfo().sort().join(","),
    stackTraceLimit: Error.stackTraceLimit,
  };
}

function restore() {
  for (const k of Object.keys(process.env)) if (!(k in baseline.env)) delete process.env[k];
  Object.assign(process.env, baseline.env);
  process.argv = baseline.argv.slice();
  process.exitCode = undefined;
  Error.stackTraceLimit = baseline.stackTraceLimit;
  for (const e of EVENTS) for (const l of process.listeners(e)) if (!baseline.listeners[e].includes(l)) process.off(e, l);
}

function start(n, request) {
  const req = { n, out: [], err: [], store: undefined, done: false };
  current = req;
  forgetOwnModules();
  for (const [k, v] of Object.entries(request.env ?? {})) process.env[k] = v;
  owner.run(req, () =>
    pulumiState.withLocalStorage(() => {
      req.store = pulumiState.getStore();
      try {
        if (request.plan) {
          const script = path.join(ROOT, "scripts", "plan.ts");
          process.argv = [process.execPath, script, ...request.plan];
          require(script);
        } else {
          // What `node -e` does: a module named [eval] in the working directory.
          const m = new Module(path.join(ROOT, "[eval]"), null);
          m.filename = path.join(ROOT, "[eval]");
          m.paths = Module._nodeModulePaths(ROOT);
          m._compile(request.script, m.filename);
        }
      } catch (e) {
        failed(e);
      }
    }),
  );
}

/** Nothing of the request left to run: what would let a fresh process exit. */
function idle() {
  return process.getActiveResourcesInfo().sort().join(",") === baseline.resources;
}

function finish(req, code) {
  if (req.done) return;
  // As the SDK's exit hook does in a fresh process: a clean exit with promises still
  // pending is reported and fails.
  if (code === 0 && !req.leakChecked) {
    req.leakChecked = true;
    const found = global.asyncLocalStorage.run(req.store, () =>
      !pulumiLog.hasErrors() && !req.store.terminated ? debuggable.leakedPromises() : [new Set(), ""],
    );
    if (found[0].size !== 0) {
      req.err.push(Buffer.from(`${found[1]}\n`));
      code = 1;
    }
  }
  req.done = true;
  const at = (suffix) => path.join(dir, `${req.n}.${suffix}`);
  fs.writeFileSync(at("stdout"), Buffer.concat(req.out));
  fs.writeFileSync(at("stderr"), Buffer.concat(req.err));
  // Aside, then renamed: the test process must never read a status file not yet written.
  fs.writeFileSync(at("status.tmp"), String(code));
  fs.renameSync(at("status.tmp"), at("status"));
  req.out = req.err = [];
  if (current === req) current = undefined;
  restore();
}

// `FT_PLAN_LOG=FILE` (see plan-pool.ts): this child's own CPU time, which `time npm test` may not
// count (a mocha worker that ends does not wait for its children).
if (process.env.FT_PLAN_LOG) {
  process.on("SIGTERM", () => realExit(143)); // how the pool ends a child: through the exit hook below
  process.on("exit", () => {
    const { user, system } = process.cpuUsage();
    fs.appendFileSync(process.env.FT_PLAN_LOG, `${JSON.stringify({ child: process.pid, requests: served, cpuMs: Math.round((user + system) / 1000) })}\n`);
  });
}

const parent = process.ppid;
let ticks = 0;
let drainingSince;
// The one handle that keeps this process alive between requests (and the clock of every wait).
setInterval(() => {
  if (current) {
    if (idle()) finish(current, process.exitCode ?? 0);
    return;
  }
  // A request that ended by process.exit or an error may have left timers or reads behind:
  // they run out (into nobody's output) before the next request starts, or this child
  // retires and the pool starts another.
  if (!idle()) {
    drainingSince ??= Date.now();
    if (Date.now() - drainingSince > 1000) realExit(0);
    return;
  }
  drainingSince = undefined;
  const file = path.join(dir, `${served + 1}.json`);
  if (fs.existsSync(file)) {
    served++;
    // Taken: a child that retires never leaves a request half-run without saying so.
    fs.renameSync(file, path.join(dir, `${served}.taken`));
    start(served, JSON.parse(fs.readFileSync(path.join(dir, `${served}.taken`), "utf8")));
    return;
  }
  if (fs.existsSync(path.join(dir, "quit"))) realExit(0);
  // Never outlive the test run that started us.
  if (++ticks % 100 === 0) {
    try {
      process.kill(parent, 0);
    } catch {
      realExit(0);
    }
  }
}, 2);
baseline = snapshot();
