// One pre-warmed program run for the test pool (tests/helpers/plan-pool.ts).
// `node -r ./tests/helpers/ts-cache.js tests/helpers/plan-child.js DIR`: loads the
// SDKs first (the second or so every run would otherwise spend), then waits for
// DIR/request.json and runs exactly one request, as a fresh process would:
//   {"plan": [ARGS]}              scripts/plan.ts ARGS (stdout/stderr to DIR/stdout, DIR/stderr)
//   {"script": CODE, "env": {..}} CODE as `node -e CODE` would run it from the repository root
// and exits; its exit code lands in DIR/status. One stack per process still holds.
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const dir = process.argv[2];

// Only packages: the program's own modules load after the request, as in a fresh process.
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

function run(request) {
  process.on("exit", (code) => {
    // Aside, then renamed: the test process must never read a status file not yet written.
    fs.writeFileSync(path.join(dir, "status.tmp"), String(code));
    fs.renameSync(path.join(dir, "status.tmp"), path.join(dir, "status"));
  });
  for (const [k, v] of Object.entries(request.env ?? {})) process.env[k] = v;
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
}

const requestFile = path.join(dir, "request.json");
const parent = process.ppid;
let idle = 0;
const wait = setInterval(() => {
  if (fs.existsSync(requestFile)) {
    clearInterval(wait);
    run(JSON.parse(fs.readFileSync(requestFile, "utf8")));
    return;
  }
  // Never outlive the test run that started us.
  if (++idle % 100 === 0) {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
  }
}, 5);
