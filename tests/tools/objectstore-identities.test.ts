// The vm object store's identities, as the program plans them (objectstore/s3.json and
// backup/rclone.conf of the example vm stack), enforced by the e2e's SeaweedFS stand-in
// (tests/e2e/images/objectstore/weed.js: s3rver plus SeaweedFS's own rules: the action its
// S3 gateway routes each request through, allowed as its Identity.canDo allows it). Driven
// by the host's rclone. The point: with the app's credentials a backup can be neither
// deleted nor overwritten, nor even listed; the backup job's identity writes backups and
// only reads the app's uploads.
import { strict as assert } from "assert";
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as ini from "ini";
import * as os from "os";
import * as path from "path";
import { run } from "../fixtures/bin/harness";
import { freePort, plannedRelease } from "../fixtures/bin/release";
import { RCLONE_STORE_ADMIN_REMOTE, RCLONE_STORE_REMOTE } from "../../compose/secret-files";

const WEED = path.join(__dirname, "..", "e2e", "images", "objectstore", "weed.js");

describe("tools: the vm object store's identities (planned s3.json) on the SeaweedFS stand-in", function () {
  this.timeout(120000);
  let dir = "";
  let weed: ChildProcess | undefined;
  let conf = "";
  let ASSETS = "";
  let BACKUPS = "";
  let endpoint = "";
  let appKey: { id: string; secret: string } = { id: "", secret: "" };
  /** One S3 call as the app would make it (aws s3api: no listing or HEAD first, the request itself). */
  const asApp = (...args: string[]) =>
    run("aws", ["s3api", "--endpoint-url", endpoint, "--region", "us-east-1", ...args], {
      env: {
        ...env,
        AWS_ACCESS_KEY_ID: appKey.id,
        AWS_SECRET_ACCESS_KEY: appKey.secret,
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      },
    });
  // rclone 1.60's S3 backend fails with any AWS_CA_BUNDLE set; this machine sets one.
  const { AWS_CA_BUNDLE: _ca, ...env } = process.env;
  const rclone = (...args: string[]) => run("rclone", ["--config", conf, "--retries", "1", "--low-level-retries", "1", ...args], { env, input: "x" });

  before(async () => {
    const planned = plannedRelease("vm");
    const s3json = planned.secrets["objectstore/s3.json"].content;
    ASSETS = planned.release.backup.uploads.bucket;
    BACKUPS = "frostguard-backups";
    assert.ok(planned.release.buckets.includes(BACKUPS), `the host store's backups bucket is ${planned.release.buckets}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-ids-"));
    fs.writeFileSync(path.join(dir, "s3.json"), s3json);
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    appKey = { id: planned.secrets["app/MINIO_ROOT_USER"].content, secret: planned.secrets["app/MINIO_ROOT_PASSWORD"].content };
    weed = spawn(
      process.execPath,
      [WEED, "server", `-dir=${path.join(dir, "data")}`, "-s3", `-s3.port=${port}`, `-ip.bind=127.0.0.1`, `-s3.config=${path.join(dir, "s3.json")}`],
      {
        stdio: "ignore",
        env: { ...process.env, NODE_PATH: path.join(__dirname, "..", "..", "node_modules") },
      },
    );
    // The three credentials as the host uses them: the app's (MINIO_*), the backup job's and the admin's (rclone.conf).
    const shipped = ini.parse(planned.secrets["backup/rclone.conf"].content) as Record<string, Record<string, string>>;
    const at = (s: Record<string, string>) => ({ ...s, endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", provider: "Other" });
    const sections = {
      app: at({
        ...shipped[RCLONE_STORE_REMOTE],
        access_key_id: planned.secrets["app/MINIO_ROOT_USER"].content,
        secret_access_key: planned.secrets["app/MINIO_ROOT_PASSWORD"].content,
      }),
      backup: at(shipped[RCLONE_STORE_REMOTE]),
      admin: at(shipped[RCLONE_STORE_ADMIN_REMOTE]),
    };
    conf = path.join(dir, "rclone.conf");
    fs.writeFileSync(conf, ini.stringify(sections), { mode: 0o600 });
    for (let i = 0; i < 50; i++) {
      if ((await rclone("lsf", "admin:")).code === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const b of [ASSETS, BACKUPS]) assert.equal((await rclone("mkdir", "--s3-no-check-bucket=false", `admin:${b}`)).code, 0, `admin creates ${b}`);
    assert.equal((await rclone("rcat", `backup:${BACKUPS}/postgres/frostguard-20261201T031700Z.dump.age`)).code, 0, "the backup job writes a backup");
  });

  after(() => {
    weed?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the app's credentials delete, overwrite and list nothing in the backups bucket (AccessDenied), and the backup stays", async () => {
    const obj = `${BACKUPS}/postgres/frostguard-20261201T031700Z.dump.age`;
    assert.ok((await run("aws", ["--version"], { env })).code === 0, "aws CLI not found: apt-get install awscli");
    const key = "postgres/frostguard-20261201T031700Z.dump.age";
    const del = await asApp("delete-object", "--bucket", BACKUPS, "--key", key);
    assert.notEqual(del.code, 0, "the app deleted a backup");
    assert.match(del.stderr, /AccessDenied/);
    const multi = await asApp("delete-objects", "--bucket", BACKUPS, "--delete", JSON.stringify({ Objects: [{ Key: key }] }));
    assert.ok(multi.code !== 0 || /AccessDenied/.test(multi.stdout), `the app's multi-delete was not refused: ${multi.stdout}`);
    const body = path.join(dir, "forged");
    fs.writeFileSync(body, "forged");
    const over = await asApp("put-object", "--bucket", BACKUPS, "--key", key, "--body", body);
    assert.notEqual(over.code, 0, "the app overwrote a backup");
    assert.match(over.stderr, /AccessDenied/);
    assert.notEqual((await rclone("lsf", `app:${BACKUPS}`)).code, 0, "the app listed the backups");
    assert.notEqual((await rclone("purge", `app:${BACKUPS}`)).code, 0, "the app purged the backups bucket");
    assert.equal((await rclone("cat", `backup:${obj}`)).stdout, "x", "the backup is still there, unchanged");
  });

  it("the app's credentials still read, write, list and delete its own uploads (the check can fail: the same calls succeed there)", async () => {
    const body = path.join(dir, "upload");
    fs.writeFileSync(body, "u");
    assert.equal((await asApp("put-object", "--bucket", ASSETS, "--key", "org-0/a.txt", "--body", body)).code, 0);
    assert.equal((await asApp("delete-object", "--bucket", ASSETS, "--key", "org-0/a.txt")).code, 0);
    assert.equal((await rclone("rcat", `app:${ASSETS}/org-1/photo.jpg`)).code, 0);
    assert.equal((await rclone("lsf", `app:${ASSETS}/org-1`)).stdout.trim(), "photo.jpg");
    assert.equal((await rclone("cat", `app:${ASSETS}/org-1/photo.jpg`)).stdout, "x");
    assert.equal((await rclone("deletefile", `app:${ASSETS}/org-1/photo.jpg`)).code, 0);
  });

  it("the backup job reads the uploads but cannot change them; it writes the backups bucket", async () => {
    assert.equal((await rclone("rcat", `app:${ASSETS}/org-2/report.csv`)).code, 0);
    assert.equal((await rclone("cat", `backup:${ASSETS}/org-2/report.csv`)).stdout, "x");
    assert.notEqual((await rclone("deletefile", `backup:${ASSETS}/org-2/report.csv`)).code, 0, "the backup job deleted an upload");
    assert.notEqual((await rclone("rcat", `backup:${ASSETS}/org-2/other.csv`)).code, 0, "the backup job wrote into the app's bucket");
    assert.equal((await rclone("rcat", `backup:${BACKUPS}/postgres/frostguard-20261202T031700Z.manifest.json`)).code, 0);
  });

  it("only the admin creates buckets", async () => {
    assert.notEqual((await rclone("mkdir", "--s3-no-check-bucket=false", "app:another-bucket")).code, 0);
    assert.notEqual((await rclone("mkdir", "--s3-no-check-bucket=false", "backup:another-bucket")).code, 0);
    assert.equal((await rclone("mkdir", "--s3-no-check-bucket=false", "admin:another-bucket")).code, 0);
  });
});
