// What a deployment ran with (core/deployed-with.ts): the program's digest changes with any file
// it deploys from and with nothing else; the config's digests leave the move keys out.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FreshtrackConfig } from "../../core/config";
import { changedSecrets, changedSections, deployedWith, programDigest, programFiles, secretDigests, servingSecretKeys } from "../../core/deployed-with";

describe("deployedWith: the program and config a deployment ran with", () => {
  let root = "";
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-program-"));
    for (const [f, text] of Object.entries({
      "index.ts": "export = 1;\n",
      "package-lock.json": "{}\n",
      "compose/files/bin/backup": "#!/bin/sh\n",
      "components/vm/index.ts": "// vm\n",
      "tests/unit/x.test.ts": "// a test\n",
      "docs/backup.md": "# Backups\n",
    })) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), text);
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("digests the program's files (source, lock, files shipped to hosts), not its tests or docs", () => {
    assert.deepEqual(programFiles(root), ["components/vm/index.ts", "compose/files/bin/backup", "index.ts", "package-lock.json"]);
    const before = programDigest(root);
    assert.match(before, /^[0-9a-f]{64}$/);
    fs.writeFileSync(path.join(root, "docs/backup.md"), "# Backups, reworded\n");
    fs.writeFileSync(path.join(root, "tests/unit/x.test.ts"), "// another test\n");
    assert.equal(programDigest(root), before, "docs and tests are not the program");
    fs.writeFileSync(path.join(root, "compose/files/bin/backup"), "#!/bin/sh\necho changed\n");
    assert.notEqual(programDigest(root), before, "a changed on-host script is another program");
    const changed = programDigest(root);
    fs.writeFileSync(path.join(root, "compose/files/bin/backup"), "#!/bin/sh\r\necho changed\r\n");
    assert.equal(programDigest(root), changed, "a checkout with CRLF line ends (git autocrlf) is the same program");
  });

  it("the program this checkout runs has a digest over its real files", () => {
    const files = programFiles();
    for (const f of ["index.ts", "core/deployed-with.ts", "compose/files/bin/deploy", "components/move/state.ts", "package-lock.json"])
      assert.ok(files.includes(f), f);
    assert.ok(!files.some((f) => f.startsWith("tests/") || f.startsWith("docs/") || f.startsWith("node_modules/")));
  });

  it("digests the sections the serving side is built from (not the move keys, another target's, or which secrets are set); names those that changed", () => {
    const cfg = {
      target: "vm",
      app: { rateLimitMax: 10000 },
      data: { backupSchedule: "17 3 * * *" },
      vm: { host: "203.0.113.10" },
      secretsSet: [],
    } as unknown as FreshtrackConfig;
    const a = deployedWith(cfg, {}, "p1");
    assert.deepEqual(Object.keys(a.config).sort(), ["app", "data", "target", "vm"]);
    // A move to digitalocean adds the move keys, the new side's section and its secrets: none of them count.
    const moving = deployedWith(
      { ...cfg, move: { to: "digitalocean", phase: "prepare" }, digitalocean: { region: "fra1" }, secretsSet: ["doToken"] } as unknown as FreshtrackConfig,
      {},
      "p1",
    );
    assert.deepEqual(moving, a);
    assert.deepEqual(changedSections(a, deployedWith({ ...cfg, app: { rateLimitMax: 100 } } as unknown as FreshtrackConfig, {}, "p1")), ["app"]);
    assert.deepEqual(changedSections(a, deployedWith({ ...cfg, vm: { host: "203.0.113.11" } } as unknown as FreshtrackConfig, {}, "p1")), ["vm"]);
    assert.deepEqual(changedSections(a, deployedWith({ ...cfg, target: "digitalocean", digitalocean: {} } as unknown as FreshtrackConfig, {}, "p1")), [
      "digitalocean",
      "target",
      "vm",
    ]);
    assert.ok(!JSON.stringify(a).includes("203.0.113.10"), "digests only");
  });

  it("digests the serving side's secrets by key: the app's and the serving target's own, never another target's", () => {
    const vm = { target: "vm" } as unknown as FreshtrackConfig;
    const droplet = { target: "digitalocean" } as unknown as FreshtrackConfig;
    assert.ok(servingSecretKeys(vm).includes("vmSshPrivateKey") && servingSecretKeys(vm).includes("ttnApiKey"));
    assert.ok(!servingSecretKeys(droplet).some((k) => k.startsWith("vm")), "a move onto a vm sets the new host's keys: not the droplet's");
    const values = { ttnApiKey: "ttn-secret-value", vmSshPrivateKey: "PRIVATE KEY" };
    const a = deployedWith(vm, secretDigests(vm, values), "p1");
    assert.deepEqual(Object.keys(a.secrets!).sort(), ["ttnApiKey", "vmSshPrivateKey"]);
    assert.match(a.secrets!.ttnApiKey, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(a).includes("ttn-secret-value") && !JSON.stringify(a).includes("PRIVATE KEY"), "digests only");
    assert.deepEqual(Object.keys(secretDigests(droplet, values)), ["ttnApiKey"]);
    // The same value under two keys gives two digests (salted with the key).
    const same = secretDigests(vm, { ttnApiKey: "x", ttnAdminApiKey: "x" });
    assert.notEqual(same.ttnApiKey, same.ttnAdminApiKey);
    const again = (v: Record<string, string>) => deployedWith(vm, secretDigests(vm, v), "p1");
    assert.deepEqual(changedSecrets(a, again(values)), []);
    assert.deepEqual(changedSecrets(a, again({ ...values, ttnApiKey: "rotated" })), ["ttnApiKey"]);
    assert.deepEqual(changedSecrets(a, again({ ...values, stripeSecretKey: "new" })), ["stripeSecretKey"]);
    assert.deepEqual(changedSecrets(a, again({ ttnApiKey: "ttn-secret-value" })), ["vmSshPrivateKey"]);
  });
});
