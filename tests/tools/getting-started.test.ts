// The first set-up command of docs/getting-started.md, as written, on a fresh copy of
// the checkout: `npm run deploy` with no stack starts the local host, writes the local
// stack, hands the deploy key to the Pulumi CLI on stdin, checks the config offline and
// runs `pulumi up` on stack local with the policy pack. The Pulumi CLI cannot be
// installed here: `pulumi` is a stand-in that records its calls and, like the real
// one, stores the secret as ciphertext in the stack file. Everything else is real.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { snapshotProgram } from "../e2e/harness";
import { ROOT } from "../../scripts/lib/program";

const FAKE_PULUMI = `#!/usr/bin/env bash
[[ $1 == version ]] && { echo v3.200.0; exit 0; }
printf '%s\\n' "$*" >>"$FAKE_PULUMI_LOG"
if [[ "$*" == "config set --secret vmSshPrivateKey --stack local" ]]; then
  cat >"$FAKE_PULUMI_LOG.stdin"
  printf '  freshtrack:vmSshPrivateKey:\\n    secure: v1:FAKECIPHERTEXT\\n' >>Pulumi.local.yaml
fi
exit 0
`;

describe("tools: the first set-up command (docs/getting-started.md) on a fresh copy", function () {
  this.timeout(300000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-getting-started-"));
  const copy = path.join(root, "repo");
  const bin = path.join(root, "bin");
  const log = path.join(root, "pulumi.log");
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_PULUMI_LOG: log, PULUMI_CONFIG_PASSPHRASE: "test-passphrase" };
  delete env.PULUMI_BACKEND_URL;

  after(() => {
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(copy, "scripts", "local-host.ts"), "--down"], {
      cwd: copy,
      env,
      encoding: "utf8",
    });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("the documented command is `npm run deploy` with no stack: the local stack", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "getting-started.md"), "utf8");
    assert.match(doc, /^npm ci && PULUMI_CONFIG_PASSPHRASE='[^']+' npm run deploy$/m);
    assert.match(doc, /^bash \.ci\/run$/m);
  });

  it("deploys the local stack: host started, stack file written, key on stdin, offline check, pulumi up with the vm policy config", () => {
    snapshotProgram(copy);
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
    assert.equal(fs.existsSync(path.join(copy, "Pulumi.local.yaml")), false, "a fresh copy has no local stack");
    const r = spawnSync("bash", ["-c", "npm run deploy"], { cwd: copy, env, encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const calls = fs.readFileSync(log, "utf8").trim().split("\n");
    assert.deepEqual(calls, [
      "stack select local --create",
      "config set --secret vmSshPrivateKey --stack local",
      "up --stack local --policy-pack policy --policy-pack-config policy/config/vm.json",
    ]);
    assert.equal(fs.readFileSync(`${log}.stdin`, "utf8"), fs.readFileSync(path.join(copy, ".local-host", "root_login_key"), "utf8"));
    const text = fs.readFileSync(path.join(copy, "Pulumi.local.yaml"), "utf8");
    assert.doesNotMatch(text, /PRIVATE KEY/);
    const config = (parseYaml(text) as { config: Record<string, unknown> }).config;
    const state = JSON.parse(fs.readFileSync(path.join(copy, ".local-host", "host.json"), "utf8")) as { port: number; hostKeyLine: string };
    assert.equal(config["freshtrack:vmHostKey"], state.hostKeyLine);
    assert.equal(Number(config["freshtrack:vmPort"]), state.port);
    assert.equal(config["freshtrack:tlsMode"], "internal");
    // The state backend is local to the checkout unless the operator points elsewhere.
    assert.ok(fs.existsSync(path.join(copy, ".state")));
  });
});
