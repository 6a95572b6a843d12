// vm backups leave the host by default: an S3-compatible remote (all four keys) or the
// operator's explicit vmBackupOnHostOnly; neither is refused with one message naming both.
import { strict as assert } from "assert";
import { ConfigError, FreshtrackConfig, parseConfig } from "../../core/config";
import { VM_RAW } from "../fixtures/config";

const REMOTE = {
  vmBackupOnHostOnly: undefined,
  vmBackupRemoteEndpoint: "https://s3.eu-central-1.wasabisys.com/",
  vmBackupRemoteBucket: "acme-freshtrack-backups",
  vmBackupRemoteAccessKeyId: "ACMEBACKUPKEY0001",
  vmBackupRemoteSecretAccessKey: "remote-secret-dummy",
};
const SECRETS = new Set(["vmSshPrivateKey", "vmBackupRemoteSecretAccessKey"]);

function parse(over: Record<string, string | undefined>, secrets = SECRETS): FreshtrackConfig {
  const raw: Record<string, string | undefined> = { ...VM_RAW, ...over };
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  return parseConfig(raw, secrets);
}

function problems(over: Record<string, string | undefined>, secrets = SECRETS): { key: string; message: string }[] {
  try {
    parse(over, secrets);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail("the config was accepted");
}

describe("config: vm backup remote", () => {
  it("a vm stack with neither a remote nor vmBackupOnHostOnly is refused, one message naming the keys and both fixes", () => {
    const p = problems({ vmBackupOnHostOnly: undefined });
    assert.equal(p.length, 1, JSON.stringify(p));
    assert.equal(p[0].key, "vmBackupRemoteEndpoint");
    for (const k of [
      "vmBackupRemoteEndpoint",
      "vmBackupRemoteBucket",
      "vmBackupRemoteAccessKeyId",
      "--secret vmBackupRemoteSecretAccessKey",
      "vmBackupOnHostOnly true",
    ])
      assert.ok(p[0].message.includes(k), `${k} not named: ${p[0].message}`);
  });
  it("vmBackupOnHostOnly true is accepted and recorded, with no remote", () => {
    const c = parse({ vmBackupOnHostOnly: "true" });
    assert.equal(c.vm?.backupOnHostOnly, true);
    assert.equal(c.vm?.backupRemote, undefined);
  });
  it("a complete remote is parsed (trailing slash dropped, default region and provider)", () => {
    const c = parse(REMOTE);
    assert.equal(c.vm?.backupOnHostOnly, false);
    assert.deepEqual(c.vm?.backupRemote, {
      endpoint: "https://s3.eu-central-1.wasabisys.com",
      bucket: "acme-freshtrack-backups",
      region: "us-east-1",
      accessKeyId: "ACMEBACKUPKEY0001",
      provider: "Other",
    });
  });
  for (const key of ["vmBackupRemoteEndpoint", "vmBackupRemoteBucket", "vmBackupRemoteAccessKeyId", "vmBackupRemoteSecretAccessKey"]) {
    it(`a remote without ${key} is refused, naming it`, () => {
      const p = problems({ ...REMOTE, [key]: undefined });
      assert.deepEqual(
        p.map((x) => x.key),
        [key],
      );
      assert.match(p[0].message, /Fix: pulumi config set/);
    });
  }
  it("the secret key in plain text is refused like every credential", () => {
    const p = problems(REMOTE, new Set(["vmSshPrivateKey"]));
    assert.ok(p.some((x) => x.key === "vmBackupRemoteSecretAccessKey" && /plain text/.test(x.message)));
  });
  it("a remote and vmBackupOnHostOnly true together are refused", () => {
    assert.deepEqual(
      problems({ ...REMOTE, vmBackupOnHostOnly: "true" }).map((x) => x.key),
      ["vmBackupOnHostOnly"],
    );
  });
  it("plain http is refused for a public address, accepted for a private one (a store on the operator's network)", () => {
    assert.match(problems({ ...REMOTE, vmBackupRemoteEndpoint: "http://s3.example.com" })[0].message, /unencrypted/);
    assert.equal(parse({ ...REMOTE, vmBackupRemoteEndpoint: "http://172.17.0.1:18333" }).vm?.backupRemote?.endpoint, "http://172.17.0.1:18333");
  });
  it("a bad bucket, provider or endpoint is refused with a fix", () => {
    assert.equal(problems({ ...REMOTE, vmBackupRemoteBucket: "Acme_Backups" })[0].key, "vmBackupRemoteBucket");
    assert.equal(problems({ ...REMOTE, vmBackupRemoteProvider: "Dropbox" })[0].key, "vmBackupRemoteProvider");
    assert.equal(problems({ ...REMOTE, vmBackupRemoteEndpoint: "s3.example.com" })[0].key, "vmBackupRemoteEndpoint");
  });
  it("digitalocean and aws stacks need none of it", () => {
    const raw: Record<string, string> = { ...VM_RAW, target: "digitalocean", doSshCidrs: '["198.51.100.7/32"]' };
    for (const k of ["vmBackupOnHostOnly", "vmHost", "vmHostKey", "vmSshPrivateKey"]) delete raw[k];
    const c = parseConfig(raw, new Set());
    assert.equal(c.vm, undefined);
  });
});
