// The worker through a data services' restart (bin/deploy's hold_requests, hold_worker,
// release_worker, end_hold, on_exit), on the RENDERED vm release's bin/deploy: its functions
// sourced without its closing `main "$@"`, with docker, the holder and the proxy stood in by
// shell functions that log each call. What the e2e cannot reach: the failures between the
// worker's stop and the hold. (The e2e, scenario 20, proves the whole hold on a real host.)
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../fixtures/bin/harness";
import { renderedVmRelease } from "../fixtures/move-release";

/** Runs hold_requests as bin/deploy does, its EXIT trap on_exit; prints the docker calls and whether state/deploy-hold is left. */
const DRIVER = `
set -euo pipefail
source "$1"
log() { echo "log: $*" >&2; }
warn() { log "WARNING: $*"; }
die() { log "ERROR: $*"; exit 1; }
ft_lock_release() { :; }
ft_live_restore() { :; }
ft_audit() { :; }
ft_notify() { :; }
STATE_DIR=$2
FAIL=$3
FT_MOVE_HOLD_MS=1000
STARTED=
# A stop takes a moment, as a graceful one does, and is logged when it ends: a caller that
# does not wait for it comes first in the log.
docker() {
  case $1 in
    stop) sleep 0.5; echo "docker $*" >>"$STATE_DIR/docker.log"; [[ $FAIL != stop ]] ;;
    inspect) echo "docker $*" >>"$STATE_DIR/docker.log"; [[ $2 != gone ]] ;;
    *) echo "docker $*" >>"$STATE_DIR/docker.log" ;;
  esac
}
ft_compose_service_ids() { case $1 in worker) echo w1 ;; backend) echo b1 ;; esac; }
ft_proxy_caddy() { echo caddy; }
ft_hold_ensure() { [[ $FAIL != holder ]] || die "the request holder did not start"; }
ft_hold_divert() { echo "divert" >>"$STATE_DIR/docker.log"; [[ $FAIL != divert ]] || die "failed just after the divert"; }
ft_hold_end() { echo "hold end" >>"$STATE_DIR/docker.log"; }
release_requests() { end_hold; }
trap 'on_exit; [[ ! -e $STATE_DIR/deploy-hold ]] || echo "deploy-hold left" >>"$STATE_DIR/docker.log"' EXIT
[[ $FAIL != killed ]] || printf 'gone\\nw0\\n' >"$STATE_DIR/deploy-hold"
hold_requests "test"
echo "data services restart here" >>"$STATE_DIR/docker.log"
`;

describe("tools: bin/deploy stops the worker while data services restart, and starts it again", function () {
  this.timeout(60000);
  let dir: string;
  let fns: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-worker-hold-"));
    const release = renderedVmRelease();
    // The release's bin/ as shipped (lib.sh and lib/ beside the functions file, which sources them).
    for (const [name, text] of Object.entries(release).filter(([n]) => n.startsWith("bin/"))) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    const lines = release["bin/deploy"].trimEnd().split("\n");
    assert.equal(lines[lines.length - 1], 'main "$@"', "bin/deploy no longer ends with its main call: this test sources everything above it");
    fns = path.join(dir, "bin", "deploy-functions.sh");
    fs.writeFileSync(fns, lines.slice(0, -1).join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "driver.sh"), DRIVER);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const hold = async (fail: "none" | "holder" | "divert" | "stop" | "killed") => {
    const state = fs.mkdtempSync(path.join(dir, `${fail}-`));
    const r = await run("bash", [path.join(dir, "driver.sh"), fns, state, fail]);
    return { ...r, calls: fs.readFileSync(path.join(state, "docker.log"), "utf8").trim().split("\n") };
  };

  it("a hold: the worker stops before the data services restart and the same container starts once the hold ends", async () => {
    const r = await hold("none");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, ["divert", "docker stop w1", "data services restart here", "hold end", "docker inspect w1", "docker start w1"]);
    assert.match(r.stderr, /worker stopped while the data services restart: its jobs wait in Redis/);
    assert.match(r.stderr, /worker started again/);
  });

  it("the holder failing while the worker stops: the failed deploy waits for the stop, ends the hold (a holder half started goes), then starts the worker again", async () => {
    const r = await hold("holder");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the request holder did not start/);
    // Without on_exit's wait the start would come before the stop ends (or find no id yet): the worker left stopped.
    assert.deepEqual(r.calls, ["docker stop w1", "hold end", "docker inspect w1", "docker start w1"]);
    assert.ok(!r.calls.includes("deploy-hold left"));
  });

  it("a failure just after the divert, before the hold's start is recorded: Caddy routes locally again and the holder goes, the worker starts", async () => {
    const r = await hold("divert");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed just after the divert/);
    // Without the hold's end the marker stays: the holder keeps every request, and the next deploy takes it for a move's.
    assert.deepEqual(r.calls.slice(-3), ["hold end", "docker inspect w1", "docker start w1"]);
    assert.ok(!r.calls.includes("data services restart here"), r.calls.join("; "));
    assert.ok(!r.calls.includes("deploy-hold left"));
  });

  it("the worker's stop failing: nothing restarts, the held requests go back and the worker is started again", async () => {
    const r = await hold("stop");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the worker did not stop: the data services were not restarted/);
    assert.ok(!r.calls.includes("data services restart here"), r.calls.join("; "));
    assert.deepEqual(r.calls.slice(-3), ["hold end", "docker inspect w1", "docker start w1"]);
  });

  it("a killed deploy's mark: its workers start with this one's, a worker replaced since is passed over", async () => {
    const r = await hold("killed");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls.slice(-6), ["hold end", "docker inspect gone", "docker inspect w0", "docker start w0", "docker inspect w1", "docker start w1"]);
    assert.ok(!r.calls.includes("deploy-hold left"));
  });
});
