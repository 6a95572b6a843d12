// Pure tests of the secret files the push writes: paths and owners per
// docs/design.md, URL encoding of hostile credentials, PgBouncer/pgpass/redis
// quoting, and the stdin payload round trip.
import { strict as assert } from "assert";
import * as ini from "ini";
import * as pulumi from "@pulumi/pulumi";
import { FreshtrackConfig } from "../../core/config";
import { IMAGES } from "../../core/images";
import { APP_SECRET_ENV } from "../../core/model";
import {
  RCLONE_REMOTE,
  RCLONE_STORE_ADMIN_REMOTE,
  RCLONE_STORE_REMOTE,
  derivedStoreCredential,
  SecretFilesInput,
  parseSecretPayload,
  pgbouncerClientUser,
  pgbouncerUserlistLine,
  renderSecretFiles,
  secretPayloadDigest,
  serializeSecretPayload,
} from "../../compose/secret-files";
import {
  bootstrapArgs,
  bundleHashOf,
  hostSecretFiles,
  HostSecretFilesArgs,
  normalizeHostKey,
  releaseIdOf,
  scriptCommand,
  shellQuote,
} from "../../components/shared/host";
import { serializeBundle } from "../../components/shared/host/bundle-payload";
import { LastingSecrets } from "../../components/shared/secrets";
import { staticFiles } from "../../compose/bundle";
import { vmDnsRecords } from "../../components/vm";

const NASTY = "p/a+s=s@w:o%r\"d'x";

function input(over: Partial<SecretFilesInput> = {}): SecretFilesInput {
  return {
    target: "vm",
    dbAppPassword: "APPPW",
    redisPassword: "REDISPW",
    jwtSecret: "JWT",
    ttnEncryptionSalt: "SALT",
    grafanaAdminPassword: "GRAFANA",
    backupEncryptionKey: "BACKUPKEY",
    user: { stackAuthSecretKey: "STACKAUTH", alertWebhookUrl: "https://hooks.example/x" },
    db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: "ADMINPW", adminDatabase: "postgres" },
    objectStore: {
      endpoint: "http://objectstore:8333",
      region: "us-east-1",
      accessKey: "S3ACCESS",
      secretKey: "S3SECRET",
      provider: "SeaweedFS",
      buckets: { assets: "frostguard-assets", backups: "frostguard-backups" },
    },
    ...over,
  };
}

describe("host secret files: paths and owners (docs/design.md table)", () => {
  const files = renderSecretFiles(input());
  it("renders app/<ENV> for every APP_SECRET_ENV name, owned by 1001", () => {
    for (const env of APP_SECRET_ENV) {
      assert.ok(files[`app/${env}`], `app/${env} missing`);
      assert.equal(files[`app/${env}`].uid, 1001, env);
    }
  });
  it("every other file has the owner uid of its reader", () => {
    const expected: Record<string, number> = {
      "migrate/DATABASE_URL": 1001,
      "postgres/POSTGRES_PASSWORD": 70,
      "db-setup/APP_DB_PASSWORD": 70,
      "db-setup/ADMIN_DATABASE_URL": 70,
      "pgbouncer/userlist.txt": IMAGES.pgbouncer.uid,
      "redis/password": 999,
      "objectstore/s3.json": 0,
      "backup/rclone.conf": 0,
      "backup/age.key": 0,
      "backup/backup.key": 0,
      "backup/pgpass": 0,
      "grafana/admin_password": 472,
      "alertmanager/webhook_url": 65534,
      "alertmanager/smtp_password": 65534,
      "alertmanager/heartbeat_url": 65534,
      "notify/webhook_url": 0,
    };
    const others = Object.fromEntries(
      Object.entries(files)
        .filter(([p]) => !p.startsWith("app/"))
        .map(([p, f]) => [p, f.uid]),
    );
    assert.deepEqual(others, expected);
  });
  it("digitalocean has no on-host postgres password and no SeaweedFS identities", () => {
    const doFiles = renderSecretFiles(
      input({
        target: "digitalocean",
        db: {
          host: "private-db.example",
          port: 25060,
          sslmode: "verify-full",
          sslrootcert: "/etc/freshtrack/db-ca.crt",
          adminUser: "doadmin",
          adminPassword: "DOADMIN",
          adminDatabase: "defaultdb",
        },
        backupStore: { endpoint: "https://fra1.example", region: "fra1", accessKey: "BACKUPKEY", secretKey: "BACKUPSECRET", provider: "DigitalOcean" },
      }),
    );
    assert.equal(doFiles["postgres/POSTGRES_PASSWORD"], undefined);
    assert.equal(doFiles["objectstore/s3.json"], undefined);
    const q = "sslmode=verify-full&sslrootcert=%2Fetc%2Ffreshtrack%2Fdb-ca.crt";
    assert.equal(doFiles["migrate/DATABASE_URL"].content, `postgresql://frostguard:APPPW@private-db.example:25060/frostguard?${q}`);
    assert.equal(doFiles["db-setup/ADMIN_DATABASE_URL"].content, `postgresql://doadmin:DOADMIN@private-db.example:25060/defaultdb?${q}`);
    // The backup job's own credential, never the app's, in rclone.conf.
    const rclone = ini.parse(doFiles["backup/rclone.conf"].content).backups as Record<string, string>;
    assert.deepEqual([rclone.access_key_id, rclone.secret_access_key, rclone.endpoint], ["BACKUPKEY", "BACKUPSECRET", "https://fra1.example"]);
    assert.ok(!Object.entries(doFiles).some(([p, f]) => p !== "backup/rclone.conf" && f.content.includes("BACKUPSECRET")));
    // The app still goes through PgBouncer.
    assert.equal(doFiles["app/DATABASE_URL"].content, `postgresql://${pgbouncerClientUser("APPPW")}:APPPW@pgbouncer:5432/frostguard`);
  });
  it("unset optional user secrets are empty files; set ones carry their value", () => {
    assert.equal(files["app/STRIPE_SECRET_KEY"].content, "");
    assert.equal(files["app/STACK_AUTH_SECRET_KEY"].content, "STACKAUTH");
    assert.equal(files["alertmanager/webhook_url"].content, "https://hooks.example/x");
    // Alertmanager's SMTP password for Resend's relay is the customer's Resend key.
    assert.equal(renderSecretFiles(input({ user: { resendApiKey: "re_RESENDKEY" } }))["alertmanager/smtp_password"].content, "re_RESENDKEY");
    assert.equal(files["alertmanager/smtp_password"].content, "");
    assert.equal(renderSecretFiles(input({ user: {} }))["notify/webhook_url"].content, "");
  });
  it("is deterministic: same values, byte-identical payload", () => {
    assert.equal(serializeSecretPayload(renderSecretFiles(input())), serializeSecretPayload(renderSecretFiles(input())));
  });
});

describe("host secret files: contents", () => {
  it("URL-encodes every credential (/ + = would break the URL)", () => {
    const f = renderSecretFiles(
      input({
        dbAppPassword: NASTY,
        redisPassword: NASTY,
        db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: NASTY, adminDatabase: "postgres" },
      }),
    );
    const e = encodeURIComponent(NASTY);
    assert.ok(!/[/+=@:%"]/.test(e.replace(/%[0-9A-F]{2}/g, "")), "encoded form keeps no raw special character");
    assert.equal(f["app/DATABASE_URL"].content, `postgresql://${pgbouncerClientUser(NASTY)}:${e}@pgbouncer:5432/frostguard`);
    assert.equal(f["migrate/DATABASE_URL"].content, `postgresql://frostguard:${e}@postgres:5432/frostguard`);
    assert.equal(f["db-setup/ADMIN_DATABASE_URL"].content, `postgresql://postgres:${e}@postgres:5432/postgres`);
    assert.equal(f["app/REDIS_URL"].content, `redis://:${e}@redis:6379/0`);
    // And the URL parses back to the exact password.
    assert.equal(decodeURIComponent(new URL(f["app/DATABASE_URL"].content).password), NASTY);
    assert.equal(decodeURIComponent(new URL(f["app/REDIS_URL"].content).password), NASTY);
  });
  it("files that are not URLs carry the raw value", () => {
    const f = renderSecretFiles(input({ dbAppPassword: NASTY, redisPassword: NASTY }));
    assert.equal(f["db-setup/APP_DB_PASSWORD"].content, NASTY);
    assert.equal(f["redis/password"].content, NASTY);
  });
  it("PgBouncer userlist quotes fields and doubles embedded quotes", () => {
    assert.equal(pgbouncerUserlistLine("frostguard", 'a"b'), '"frostguard" "a""b"');
    // The server login (forced user frostguard), then this password's client login.
    assert.equal(renderSecretFiles(input())["pgbouncer/userlist.txt"].content, `"frostguard" "APPPW"\n"${pgbouncerClientUser("APPPW")}" "APPPW"\n`);
  });
  it("the app's PgBouncer login changes with the password (so the previous one can be kept during a rotation) and holds no secret", () => {
    const a = pgbouncerClientUser("APPPW");
    assert.match(a, /^frostguard_[0-9a-f]{8}$/);
    assert.notEqual(pgbouncerClientUser("APPPW2"), a);
    assert.equal(pgbouncerClientUser("APPPW"), a, "deterministic");
  });
  it("redis: only the password file (bin/deploy derives the ACL's hash from it); no requirepass file", () => {
    const f = renderSecretFiles(input());
    assert.equal(f["redis/password"].content, "REDISPW");
    assert.deepEqual(
      Object.keys(f).filter((k) => k.startsWith("redis/")),
      ["redis/password"],
    );
  });
  it("pgpass escapes : and \\ and lists the app role then the admin", () => {
    const f = renderSecretFiles(input({ dbAppPassword: "a:b\\c" }));
    assert.equal(f["backup/pgpass"].content, "postgres:5432:frostguard:frostguard:a\\:b\\\\c\npostgres:5432:*:postgres:ADMINPW\n");
  });
  it("SeaweedFS identities: the app's key reaches its own bucket only; the backup job and the admin have keys of their own", () => {
    const s3 = JSON.parse(renderSecretFiles(input())["objectstore/s3.json"].content);
    const by = Object.fromEntries(s3.identities.map((x: { name: string }) => [x.name, x])) as Record<string, { credentials: unknown[]; actions: string[] }>;
    assert.deepEqual(Object.keys(by), ["frostguard", "backup", "admin"]);
    assert.deepEqual(by.frostguard.credentials, [{ accessKey: "S3ACCESS", secretKey: "S3SECRET" }]);
    // "Write" is also DeleteObject in SeaweedFS: the app must hold no action on the backups bucket, nor any unscoped one.
    assert.deepEqual(by.frostguard.actions, ["Read:frostguard-assets", "Write:frostguard-assets", "List:frostguard-assets", "Tagging:frostguard-assets"]);
    assert.ok(!JSON.stringify(by.frostguard.actions).includes("frostguard-backups"));
    assert.deepEqual(by.backup.actions, [
      "Read:frostguard-assets",
      "List:frostguard-assets",
      "Read:frostguard-backups",
      "Write:frostguard-backups",
      "List:frostguard-backups",
    ]);
    assert.deepEqual(by.backup.credentials, [derivedStoreCredential("BACKUPKEY", "backup")]);
    assert.deepEqual(by.admin.credentials, [derivedStoreCredential("BACKUPKEY", "admin")]);
    assert.ok(by.admin.actions.includes("Admin"));
    const keys = s3.identities.flatMap((x: { credentials: { accessKey: string }[] }) => x.credentials.map((c) => c.accessKey));
    assert.equal(new Set(keys).size, 3, "three distinct access keys");
  });
  it("derived store credentials are stable per key and role, and differ between roles and keys", () => {
    assert.deepEqual(derivedStoreCredential("K", "backup"), derivedStoreCredential("K", "backup"));
    assert.notDeepEqual(derivedStoreCredential("K", "backup"), derivedStoreCredential("K", "admin"));
    assert.notDeepEqual(derivedStoreCredential("K", "backup"), derivedStoreCredential("K2", "backup"));
    assert.match(derivedStoreCredential("K", "admin").accessKey, /^[A-Z0-9]{16,}$/);
  });
  it("vm without the store's bucket names is refused (the app's identity could not be scoped)", () => {
    assert.throws(() => renderSecretFiles(input({ objectStore: { ...input().objectStore, buckets: undefined } })), /buckets are required/);
  });
  const section = (conf: Record<string, unknown>, name: string) => ({ ...(conf[name] as Record<string, unknown>) });
  it("rclone.conf on vm without a remote: dumps to the host store as the backup identity; store and store-admin sections", () => {
    const conf = ini.parse(renderSecretFiles(input())["backup/rclone.conf"].content);
    assert.deepEqual(Object.keys(conf), [RCLONE_REMOTE, RCLONE_STORE_REMOTE, RCLONE_STORE_ADMIN_REMOTE]);
    const backup = derivedStoreCredential("BACKUPKEY", "backup");
    const store = {
      type: "s3",
      provider: "SeaweedFS",
      access_key_id: backup.accessKey,
      secret_access_key: backup.secretKey,
      endpoint: "http://objectstore:8333",
      region: "us-east-1",
      force_path_style: true,
      no_check_bucket: true,
    };
    assert.deepEqual(section(conf, RCLONE_REMOTE), store);
    assert.deepEqual(section(conf, RCLONE_STORE_REMOTE), store);
    assert.equal(section(conf, RCLONE_STORE_ADMIN_REMOTE).access_key_id, derivedStoreCredential("BACKUPKEY", "admin").accessKey);
    assert.ok(!renderSecretFiles(input())["backup/rclone.conf"].content.includes("S3SECRET"), "the app's key is not the backup job's");
  });
  it("rclone.conf on vm with an off-host remote: `backups` is the operator's remote, hostile characters kept", () => {
    const remote = { endpoint: "https://s3.example.com", bucket: "b", region: "eu-central-1", accessKeyId: "RID", provider: "Wasabi", secretAccessKey: NASTY };
    const conf = ini.parse(renderSecretFiles(input({ backupRemote: remote }))["backup/rclone.conf"].content);
    assert.deepEqual(section(conf, RCLONE_REMOTE), {
      type: "s3",
      provider: "Wasabi",
      access_key_id: "RID",
      secret_access_key: NASTY,
      endpoint: "https://s3.example.com",
      region: "eu-central-1",
      force_path_style: true,
      no_check_bucket: true,
    });
    assert.equal(section(conf, RCLONE_STORE_REMOTE).endpoint, "http://objectstore:8333");
  });
  it("rclone.conf on digitalocean: one remote with the Spaces key, path-style", () => {
    const conf = ini.parse(
      renderSecretFiles(
        input({
          target: "digitalocean",
          objectStore: { endpoint: "https://fra1.digitaloceanspaces.com", region: "fra1", accessKey: "AK", secretKey: "x=y/z+", provider: "DigitalOcean" },
        }),
      )["backup/rclone.conf"].content,
    );
    assert.deepEqual(Object.keys(conf), [RCLONE_REMOTE]);
    assert.deepEqual(section(conf, RCLONE_REMOTE), {
      type: "s3",
      provider: "DigitalOcean",
      access_key_id: "AK",
      secret_access_key: "x=y/z+",
      endpoint: "https://fra1.digitaloceanspaces.com",
      region: "fra1",
      force_path_style: true,
      no_check_bucket: true,
    });
  });
  it("MINIO_* are the object store keys", () => {
    const f = renderSecretFiles(input());
    assert.equal(f["app/MINIO_ROOT_USER"].content, "S3ACCESS");
    assert.equal(f["app/MINIO_ROOT_PASSWORD"].content, "S3SECRET");
  });
});

describe("host secret files: stdin payload", () => {
  it("round-trips every file, including empty and multi-line contents", () => {
    const files = renderSecretFiles(input({ dbAppPassword: NASTY }));
    const payload = serializeSecretPayload(files);
    assert.deepEqual(parseSecretPayload(payload), files);
    for (const line of payload.trimEnd().split("\n")) assert.match(line, /^[a-z-]+\/[A-Za-z0-9_.-]+ \d+ [A-Za-z0-9+/]*={0,2}$/);
  });
  it("no value appears in clear in the payload", () => {
    const payload = serializeSecretPayload(renderSecretFiles(input()));
    for (const v of ["APPPW", "REDISPW", "ADMINPW", "BACKUPKEY", "S3SECRET"]) assert.ok(!payload.includes(v), v);
  });
  it("refuses paths that could escape the secrets directory", () => {
    for (const bad of ["../etc/passwd", "/etc/shadow", "app/../x", ".hidden", "a b", "app//x"]) {
      assert.throws(() => serializeSecretPayload({ [bad]: { uid: 0, content: "x" } }), /refusing path/, bad);
    }
  });
  it("digest changes with any content or owner change", () => {
    const base = renderSecretFiles(input());
    const d = secretPayloadDigest(serializeSecretPayload(base));
    assert.notEqual(secretPayloadDigest(serializeSecretPayload(renderSecretFiles(input({ jwtSecret: "JWT2" })))), d);
    assert.notEqual(secretPayloadDigest(serializeSecretPayload({ ...base, "redis/password": { uid: 0, content: "REDISPW" } })), d);
    assert.match(d, /^[0-9a-f]{16}$/);
  });
});

describe("host push helpers", () => {
  it("bundle hash: any file change changes it, order does not", () => {
    const a = bundleHashOf({ "a.yml": "1", "b.yml": "2" });
    assert.equal(bundleHashOf({ "b.yml": "2", "a.yml": "1" }), a);
    assert.notEqual(bundleHashOf({ "a.yml": "1", "b.yml": "3" }), a);
    assert.notEqual(bundleHashOf({ "a.yml": "12", "b.yml": "" }), bundleHashOf({ "a.yml": "1", "b.yml": "2" }));
  });
  it("release id follows both the bundle and the secrets", () => {
    const r = releaseIdOf("b1", "s1");
    assert.notEqual(releaseIdOf("b2", "s1"), r);
    assert.notEqual(releaseIdOf("b1", "s2"), r);
  });
  it('host key: never empty, one "TYPE BASE64" line (comment and newline dropped)', () => {
    assert.equal(normalizeHostKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc \n"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc");
    assert.equal(normalizeHostKey("ssh-ed25519 AAAAC3Nza root@host"), "ssh-ed25519 AAAAC3Nza");
    for (const bad of ["", "  ", "AAAAC3Nza", "203.0.113.10 ssh-ed25519 AAAA", "ssh-dss AAAA"]) assert.throws(() => normalizeHostKey(bad), /host key/, bad);
  });
  it("shell quoting survives single quotes", () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(scriptCommand("echo 'x'", "n", ["a b"], true), `sudo -n bash -c 'echo '\\''x'\\''' 'n' 'a b'`);
  });
});

describe("bundle file modes", () => {
  it("the helpers lib.sh sources (bin/lib/*.sh) ship 0755 like bin/lib.sh; config files 0644", () => {
    const lines = serializeBundle(staticFiles()).split("\n").slice(1, -1);
    const modes = Object.fromEntries(lines.map((l) => l.split(" ").slice(0, 2)));
    const lib = Object.keys(modes).filter((p) => p.startsWith("bin/lib/"));
    assert.ok(lib.length >= 10, `bin/lib/ holds ${lib.length} files`);
    for (const p of ["bin/lib.sh", ...lib]) assert.equal(modes[p], "0755", p);
    assert.ok(Object.keys(modes).some((p) => !p.startsWith("bin/") && modes[p] === "0644"));
  });
});

describe("host secret files: the one builder both host targets use (hostSecretFiles)", () => {
  const out = <T>(v: T) => pulumi.output(v);
  const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((done) => o.apply(done));
  const lasting = {
    dbAppPassword: out("APPPW"),
    dbAdminPassword: out("ADMINPW"),
    redisPassword: out("REDISPW"),
    jwtSecret: out("JWT"),
    ttnEncryptionSalt: out("SALT"),
    grafanaAdminPassword: out("GRAFANA"),
    backupEncryptionKey: out("BACKUPKEY"),
    objectStoreAccessKey: out("S3ACCESS"),
    objectStoreSecretKey: out("S3SECRET"),
  } as LastingSecrets;
  const args = (over: Partial<HostSecretFilesArgs> = {}): HostSecretFilesArgs => ({
    target: "vm",
    args: {
      config: { app: { registry: { server: "ghcr.io", user: "bot" } } } as unknown as FreshtrackConfig,
      secrets: lasting,
      userSecrets: { stackAuthSecretKey: out("STACKAUTH"), alertWebhookUrl: out("https://hooks.example/x"), registryToken: out("REGTOKEN") },
    },
    db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: lasting.dbAdminPassword, adminDatabase: "postgres" },
    objectStore: {
      endpoint: "http://objectstore:8333",
      region: "us-east-1",
      accessKey: out("S3ACCESS"),
      secretKey: out("S3SECRET"),
      provider: "SeaweedFS",
      buckets: { assets: "frostguard-assets", backups: "frostguard-backups" },
    },
    ...over,
  });

  it("renders exactly what renderSecretFiles renders from the same plain values (Outputs anywhere in db/objectStore)", async () => {
    const expected = renderSecretFiles(
      input({
        user: { stackAuthSecretKey: "STACKAUTH", alertWebhookUrl: "https://hooks.example/x", registryToken: "REGTOKEN" },
        registry: { server: "ghcr.io", user: "bot" },
      }),
    );
    assert.deepEqual(await resolve(hostSecretFiles(args())), expected);
  });
  it("digitalocean: the managed cluster's Outputs, sslmode and CA path reach the files; the backup key only rclone.conf", async () => {
    const files = await resolve(
      hostSecretFiles(
        args({
          target: "digitalocean",
          db: {
            host: out("private-db.example"),
            port: out(25060),
            sslmode: "verify-full",
            sslrootcert: "/etc/freshtrack/db-ca.crt",
            adminUser: out("doadmin"),
            adminPassword: out("DOADMIN"),
            adminDatabase: "defaultdb",
          },
          objectStore: {
            endpoint: "https://fra1.digitaloceanspaces.com",
            region: "fra1",
            accessKey: out("DOKEY"),
            secretKey: out("DOSECRET"),
            provider: "DigitalOcean",
          },
          backupStore: {
            endpoint: "https://fra1.digitaloceanspaces.com",
            region: "fra1",
            accessKey: out("DOBACKUPKEY"),
            secretKey: out("DOBACKUPSECRET"),
            provider: "DigitalOcean",
          },
        }),
      ),
    );
    assert.equal(
      files["db-setup/ADMIN_DATABASE_URL"].content,
      "postgresql://doadmin:DOADMIN@private-db.example:25060/defaultdb?sslmode=verify-full&sslrootcert=%2Fetc%2Ffreshtrack%2Fdb-ca.crt",
    );
    assert.equal(files["postgres/POSTGRES_PASSWORD"], undefined);
    const rclone = ini.parse(files["backup/rclone.conf"].content).backups as Record<string, string>;
    assert.deepEqual([rclone.access_key_id, rclone.secret_access_key], ["DOBACKUPKEY", "DOBACKUPSECRET"]);
    assert.equal(files["app/MINIO_ROOT_USER"].content, "DOKEY");
    assert.ok(!Object.entries(files).some(([p, f]) => p !== "backup/rclone.conf" && f.content.includes("DOBACKUPSECRET")));
  });
  it("vm: the off-host remote (config) and its secret key (user secret vmBackupRemoteSecretAccessKey) become rclone.conf's backups section", async () => {
    const remote = { endpoint: "https://s3.offsite.example", bucket: "acme-offsite", region: "eu-1", provider: "Wasabi", accessKeyId: "OFFSITEAK" };
    const a = args({ backupRemote: remote });
    const files = await resolve(
      hostSecretFiles({ ...a, args: { ...a.args, userSecrets: { ...a.args.userSecrets, vmBackupRemoteSecretAccessKey: out("OFFSITESECRET") } } }),
    );
    const conf = ini.parse(files["backup/rclone.conf"].content) as Record<string, Record<string, string>>;
    assert.deepEqual(
      [conf[RCLONE_REMOTE].endpoint, conf[RCLONE_REMOTE].provider, conf[RCLONE_REMOTE].access_key_id, conf[RCLONE_REMOTE].secret_access_key],
      ["https://s3.offsite.example", "Wasabi", "OFFSITEAK", "OFFSITESECRET"],
    );
    assert.equal(conf[RCLONE_STORE_REMOTE].endpoint, "http://objectstore:8333");
    // Without the remote's key the backups stay in the host's own store (config validation refuses that combination earlier).
    assert.equal(ini.parse((await resolve(hostSecretFiles(a)))["backup/rclone.conf"].content)[RCLONE_REMOTE].endpoint, "http://objectstore:8333");
  });
  it("the whole output is secret, even when every input is plain", async () => {
    assert.equal(await pulumi.isSecret(hostSecretFiles(args())), true);
  });
  it("the vm SSH key never becomes a file on the host", async () => {
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----SSHKEYVALUE";
    const a = args();
    const files = await resolve(hostSecretFiles({ ...a, args: { ...a.args, userSecrets: { ...a.args.userSecrets, vmSshPrivateKey: out(KEY) } } }));
    assert.ok(!JSON.stringify(files).includes("SSHKEYVALUE"));
  });
  it("waits for readyIds (data dependencies) before rendering", async () => {
    let ready!: (v: string) => void;
    const gate = out(new Promise<string>((r) => (ready = r)));
    let rendered = false;
    const files = hostSecretFiles(args({ readyIds: [gate] })).apply((f) => ((rendered = true), f));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(rendered, false, "rendered before the ready ids resolved");
    ready("fw-1");
    assert.ok((await resolve(files))["app/JWT_SECRET"]);
  });
});

describe("bootstrap arguments (scripts/bootstrap.sh argv)", () => {
  it("APP_DIR FIREWALL SSH_PORT COPY_USER [DEPLOY_USER], empty deploy user when there is none", () => {
    assert.deepEqual(bootstrapArgs({ appDir: "/opt/ft", firewall: true, sshPort: 2222, copyUser: "ops" }), ["/opt/ft", "true", "2222", "ops", ""]);
    assert.deepEqual(bootstrapArgs({ appDir: "/srv/ft", firewall: false, sshPort: 22, copyUser: "root", deployUser: "deploy" }), [
      "/srv/ft",
      "false",
      "22",
      "root",
      "deploy",
    ]);
  });
});

describe("vm DNS records", () => {
  it("A for IPv4, AAAA for IPv6, CNAME for a host name, for the domain and s3.<domain>", () => {
    assert.deepEqual(
      vmDnsRecords("app.example.com", "203.0.113.10").map((r) => [r.type, r.name, r.value]),
      [
        ["A", "app.example.com", "203.0.113.10"],
        ["A", "s3.app.example.com", "203.0.113.10"],
      ],
    );
    assert.deepEqual(
      vmDnsRecords("app.example.com", "2001:db8::1").map((r) => r.type),
      ["AAAA", "AAAA"],
    );
    assert.deepEqual(
      vmDnsRecords("app.example.com", "Host.Example.net").map((r) => [r.type, r.value]),
      [
        ["CNAME", "host.example.net"],
        ["CNAME", "host.example.net"],
      ],
    );
  });
});
