// Where release.json sends the backups: a vm stack's off-host remote (its bucket, no
// pruning by bin/backup), a vm stack on-host-only (the host store's bucket, pruned by
// name, offhost false), and digitalocean unchanged (Spaces, no vm fields).
import { strict as assert } from "assert";
import { renderBundle, ReleaseManifest } from "../../compose/bundle";
import { BundleInput } from "../../compose/bundle-input";
import { parseConfig } from "../../core/config";
import { VM_RAW } from "../fixtures/config";

const REMOTE = {
  vmBackupRemoteEndpoint: "https://s3.backups.example",
  vmBackupRemoteBucket: "acme-freshtrack-backups",
  vmBackupRemoteAccessKeyId: "BACKUPKEYID0001",
  vmBackupRemoteSecretAccessKey: "x",
};

function bundleInput(target: "vm" | "digitalocean", over: Record<string, string> = {}): BundleInput {
  const raw: Record<string, string> = { ...VM_RAW, target, ...over };
  if (target === "digitalocean") {
    for (const k of ["vmHost", "vmHostKey", "vmSshPrivateKey", "vmBackupOnHostOnly"]) delete raw[k];
    raw.doSshCidrs = JSON.stringify(["198.51.100.7/32"]);
  }
  if (over.vmBackupRemoteBucket) delete raw.vmBackupOnHostOnly;
  const config = parseConfig(raw, new Set(["vmSshPrivateKey", "vmBackupRemoteSecretAccessKey"]));
  const buckets =
    target === "vm" ? { assetsBucket: "frostguard-assets", backupsBucket: "frostguard-backups" } : { assetsBucket: "fg-assets", backupsBucket: "fg-backups" };
  return {
    config,
    target,
    objectStore: { publicEndpoint: "https://s3.app.example", internalEndpoint: "http://objectstore:8333", region: "us-east-1", ...buckets },
    ...(target === "digitalocean"
      ? {
          managedDb: {
            host: "db.example",
            port: 25060,
            database: "defaultdb",
            maxConnections: 25,
            caCert: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
          },
        }
      : {}),
  };
}

const release = (input: BundleInput) => JSON.parse(renderBundle(input)["release.json"]) as ReleaseManifest;

describe("release.json: where backups go", () => {
  it("vm with an off-host remote: the remote's bucket, offhost, bin/backup never prunes there, uploads read through the host store", () => {
    const b = release(bundleInput("vm", REMOTE)).backup;
    assert.equal(b.remote, "backups");
    assert.equal(b.bucket, "acme-freshtrack-backups");
    assert.equal(b.offhost, true);
    assert.equal(b.prune, false);
    assert.equal(b.store_remote, "store");
    assert.equal(b.admin_remote, "store-admin");
    assert.equal(b.uploads.bucket, "frostguard-assets");
  });
  it("vm on-host-only: the host store's backups bucket, offhost false, pruned by name", () => {
    const b = release(bundleInput("vm")).backup;
    assert.equal(b.bucket, "frostguard-backups");
    assert.equal(b.offhost, false);
    assert.equal("prune" in b, false);
  });
  it("digitalocean: Spaces' backups bucket, none of the vm fields", () => {
    const b = release(bundleInput("digitalocean")).backup;
    assert.equal(b.bucket, "fg-backups");
    for (const k of ["offhost", "prune", "store_remote", "admin_remote"]) assert.equal(k in b, false, k);
  });
});
