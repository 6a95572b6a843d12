// The private registry login on a host, end to end on what the program renders: the
// planned write-secrets step (the real script, the planned stdin) puts the Docker
// config 0600 root-only in a 0700 directory, and the release's bin/deploy hands it to
// its pull, and to nothing else. `docker` is a recorder here (no registry is reachable):
// it logs DOCKER_CONFIG per call and fails the pull, which bin/deploy must report.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REGISTRY_CONFIG_FILE, hostScript } from "../../components/shared/host";
import { secretPayloadDigest } from "../../compose/secret-files";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { PlanResult } from "../../scripts/lib/program";
import { mustPlan, one } from "../helpers/plan";

const TOKEN = "REGTOKENpull0123456789X";

const FAKE_DOCKER = `#!/usr/bin/env bash
printf '%s\\t%s\\n' "\${DOCKER_CONFIG:-}" "$*" >>"$FAKE_DOCKER_LOG"
case " $* " in
  *" pull "*)
    if [[ -n \${DOCKER_CONFIG:-} ]]; then cat "$DOCKER_CONFIG/config.json" >"$FAKE_DOCKER_LOG.config"; fi
    echo "fake docker: no registry here" >&2; exit 1 ;;
esac
exit 0
`;

function hostFromPlan(r: PlanResult) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-regpull-"));
  const appDir = path.join(root, "app");
  const relDir = path.join(appDir, "releases", "r1");
  for (const [rel, content] of Object.entries(copiedFiles(one(r, "command:remote:CopyToRemote").inputs.source))) {
    fs.mkdirSync(path.dirname(path.join(relDir, rel)), { recursive: true });
    fs.writeFileSync(path.join(relDir, rel), content, { mode: rel.startsWith("bin/") ? 0o755 : 0o644 });
  }
  const ws = one(r, "command:remote:Command", "write-secrets");
  const stdin = (ws.inputs.stdin as { $secret: string }).$secret;
  // The generation the push names: the payload's digest (write-secrets writes APP_DIR/secrets.d/<generation>).
  const generation = secretPayloadDigest(stdin);
  const w = spawnSync("bash", ["-c", hostScript("write-secrets"), "write-secrets", appDir, generation], { input: stdin, encoding: "utf8" });
  assert.equal(w.status, 0, w.stderr);
  const bin = path.join(root, "fakebin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
  const log = path.join(root, "docker.log");
  const res = spawnSync(path.join(relDir, "bin", "deploy"), ["r1"], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_DOCKER_LOG: log, FT_SECRETS_GENERATION: generation },
  });
  const calls = fs.existsSync(log)
    ? fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t"))
    : [];
  return {
    root,
    appDir,
    secretsDir: path.join(appDir, "secrets.d", generation),
    res,
    calls,
    seenConfig: fs.existsSync(`${log}.config`) ? fs.readFileSync(`${log}.config`, "utf8") : undefined,
  };
}

describe("tools: private registry login on the host (write-secrets + bin/deploy's pull)", function () {
  this.timeout(180000);

  it("the login is 0600 root in a 0700 directory, and only the pull runs with DOCKER_CONFIG pointing at it", () => {
    const h = hostFromPlan(mustPlan("vm", { imageDigests: false }, { registryToken: TOKEN }));
    try {
      const file = path.join(h.secretsDir, REGISTRY_CONFIG_FILE);
      const st = fs.statSync(file);
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(st.uid, 0);
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
      assert.notEqual(h.res.status, 0, "the fake registry refuses: the deploy stops");
      assert.match(h.res.stderr, /image pull failed; nothing was changed/);
      const pulls = h.calls.filter(([, args]) => / pull /.test(` ${args} `));
      assert.equal(pulls.length, 1, JSON.stringify(h.calls));
      assert.equal(pulls[0][0], path.dirname(file), "the pull reads the pushed login");
      assert.ok(h.seenConfig?.includes(Buffer.from(`frostguard-deploy:${TOKEN}`).toString("base64")), "the pull saw the login");
      for (const [cfg, args] of h.calls.filter(([, a]) => !/ pull /.test(` ${a} `))) assert.equal(cfg, "", `docker ${args} must not see the login`);
      // Never on a command line.
      for (const [, args] of h.calls) assert.ok(!args.includes(TOKEN), `docker ${args}`);
    } finally {
      fs.rmSync(h.root, { recursive: true, force: true });
    }
  });

  it("without a login the pull runs with the host's own Docker config", () => {
    const h = hostFromPlan(mustPlan("vm", { imageDigests: false, registryServer: "", registryUser: "", registryToken: "" }));
    try {
      assert.ok(!fs.existsSync(path.join(h.secretsDir, REGISTRY_CONFIG_FILE)));
      const pulls = h.calls.filter(([, args]) => / pull /.test(` ${args} `));
      assert.equal(pulls.length, 1, `${JSON.stringify(h.calls)}\n${h.res.stderr}`);
      assert.equal(pulls[0][0], "");
    } finally {
      fs.rmSync(h.root, { recursive: true, force: true });
    }
  });
});
