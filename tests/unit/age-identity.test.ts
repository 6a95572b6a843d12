// The age identity derived from the lasting backup key: Bech32 per BIP 173, age's format,
// stable for a key and different between keys. (Real age encrypts and decrypts with it in
// tests/tools/bin-backup.test.ts, from the planned secret file.)
import { strict as assert } from "assert";
import { ageIdentity, bech32 } from "../../compose/age-identity";
import { renderSecretFiles } from "../../compose/secret-files";

describe("age identity of the backups", () => {
  it("Bech32 matches BIP 173's test vector", () => assert.equal(bech32("a", new Uint8Array()), "a12uel5l"));
  it("is an age X25519 identity: AGE-SECRET-KEY-1 and 58 Bech32 characters", () => {
    assert.match(ageIdentity("k"), /^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
  });
  it("is stable for a key and differs between keys", () => {
    assert.equal(ageIdentity("RNDSECRETbackupencryptionkeyX"), "AGE-SECRET-KEY-1P2U6PSDELD0SDC4RZP4PEJNTHUMJU059ZPN9XGNSF44NZXVNFYRQ3SLKV5");
    assert.notEqual(ageIdentity("a"), ageIdentity("b"));
  });
  it("is delivered as secrets/backup/age.key, root 0600 like backup.key", () => {
    const files = renderSecretFiles({
      target: "vm",
      dbAppPassword: "p",
      redisPassword: "r",
      jwtSecret: "j",
      ttnEncryptionSalt: "s",
      grafanaAdminPassword: "g",
      backupEncryptionKey: "KEY",
      user: {},
      db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: "a", adminDatabase: "postgres" },
      objectStore: {
        endpoint: "http://objectstore:8333",
        region: "us-east-1",
        accessKey: "ak",
        secretKey: "sk",
        provider: "SeaweedFS",
        buckets: { assets: "frostguard-assets", backups: "frostguard-backups" },
      },
    });
    assert.deepEqual(files["backup/age.key"], { uid: 0, content: ageIdentity("KEY") + "\n" });
    assert.equal(files["backup/backup.key"].content, "KEY", "kept: it decrypts the backups written before age");
  });
});
