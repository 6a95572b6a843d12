// The aws move-import task's pure parts (components/aws/move-import.ts): its containers as
// ECS JSON, the task role and the push user's policies, the report line's parser, and the
// SQL kept equal to the host scripts' (the two sides must compute the same texts).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  MOVE_COUNT_SQL,
  MOVE_DIR,
  MOVE_IMPORT_CONTAINER,
  MOVE_IMPORT_SECRET_ENV,
  MOVE_IMPORT_MARKER,
  MOVE_IMPORT_VOLUMES,
  MOVE_SEQUENCES_SQL,
  MovePolicyDocument,
  MoveImportTaskInput,
  moveFetchScript,
  moveImportContainerDefinitions,
  moveImportLogLine,
  moveImportTaskPolicy,
  movePushUserPolicy,
  moveRestoreScript,
} from "../../components/aws/move-import";
import { RDS_CA_ENV, RDS_CA_FILE } from "../../components/aws/rds-ca";

const ARN = (name: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:freshtrack/prod/${name}-AbCdEf`;
const input: MoveImportTaskInput = {
  postgresImage: "postgres:16.10-alpine@sha256:aaaa",
  rcloneImage: "rclone/rclone:1.71.1@sha256:bbbb",
  redisImage: "valkey/valkey:8.1.3-alpine@sha256:cccc",
  dbName: "frostguard",
  rdsCa: "-----BEGIN CERTIFICATE-----\nRDSCA\n-----END CERTIFICATE-----\n",
  backupsBucket: "freshtrack-prod-backups-123456789012",
  assetsBucket: "freshtrack-prod-assets-123456789012",
  region: "eu-central-1",
  assetsRegion: "eu-west-1",
  logGroup: "/freshtrack/prod/move-import",
  // Another app secret in the map must not reach the task.
  secretArns: {
    DATABASE_URL: ARN("DATABASE_URL"),
    JWT_SECRET: ARN("JWT_SECRET"),
    TTN_ENCRYPTION_SALT: ARN("TTN_ENCRYPTION_SALT"),
    REDIS_URL: ARN("REDIS_URL"),
  },
};

interface Def {
  name: string;
  image: string;
  essential: boolean;
  user: string;
  command: string[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  mountPoints: { sourceVolume: string; containerPath: string; readOnly: boolean }[];
  readonlyRootFilesystem: boolean;
  dependsOn?: { containerName: string; condition: string }[];
  logConfiguration: { logDriver: string; options: Record<string, string> };
}

const BACKUPS = "arn:aws:s3:::freshtrack-prod-backups-123456789012";
const ASSETS = "arn:aws:s3:::freshtrack-prod-assets-123456789012";
const KEY = "arn:aws:kms:eu-central-1:123456789012:key/0000-1111";

/** [action, resource, condition] triples of a policy (sorted). */
const grants = (doc: MovePolicyDocument) =>
  doc.Statement.flatMap((s) => s.Action.flatMap((a) => s.Resource.map((r) => [a, r, JSON.stringify(s.Condition ?? null)].join(" ")))).sort();

describe("aws move-import task", () => {
  const defs = JSON.parse(moveImportContainerDefinitions(input)) as Def[];
  const byName = Object.fromEntries(defs.map((d) => [d.name, d]));
  const env = (d: Def) => Object.fromEntries(d.environment.map((e) => [e.name, e.value]));

  it("volumes -> fetch (rclone, 65534) -> queue (valkey, 999) -> restore (postgres, 70, essential), read-only roots", () => {
    assert.deepEqual(
      defs.map((d) => [d.name, d.image, d.user, d.essential]),
      [
        ["volumes", input.rcloneImage, "0", false],
        ["fetch", input.rcloneImage, "65534", false],
        ["queue", input.redisImage, "999", false],
        ["restore", input.postgresImage, "70", true],
      ],
    );
    for (const d of defs) assert.equal(d.readonlyRootFilesystem, true, d.name);
    assert.deepEqual(byName.fetch.dependsOn, [{ containerName: "volumes", condition: "SUCCESS" }]);
    assert.deepEqual(byName.queue.dependsOn, [{ containerName: "fetch", condition: "SUCCESS" }]);
    assert.deepEqual(byName.restore.dependsOn, [{ containerName: "queue", condition: "SUCCESS" }]);
    // The root container only makes the scratch volumes writable: no secret, no environment.
    assert.deepEqual(byName.volumes.command, [`chmod 1777 ${MOVE_DIR} /tmp`]);
    assert.deepEqual([byName.volumes.secrets, byName.volumes.environment], [[], []]);
    const volumes = new Set(MOVE_IMPORT_VOLUMES.map((v) => v.name));
    for (const d of defs) for (const m of d.mountPoints) assert.ok(volumes.has(m.sourceVolume), `${d.name}: ${m.sourceVolume}`);
    assert.deepEqual(
      byName.restore.mountPoints.map((m) => m.containerPath),
      [MOVE_DIR, "/tmp"],
    );
  });

  it("awslogs with the stream prefixes fetch / restore", () => {
    for (const d of defs) {
      assert.equal(d.logConfiguration.logDriver, "awslogs");
      assert.deepEqual(d.logConfiguration.options, { "awslogs-group": input.logGroup, "awslogs-region": input.region, "awslogs-stream-prefix": d.name });
    }
  });

  it("restore reads DATABASE_URL, JWT_SECRET, TTN_ENCRYPTION_SALT by ARN only; no secret in any environment", () => {
    assert.deepEqual(byName.restore.secrets, [
      { name: "DATABASE_URL", valueFrom: ARN("DATABASE_URL") },
      { name: "JWT_SECRET", valueFrom: ARN("JWT_SECRET") },
      { name: "TTN_ENCRYPTION_SALT", valueFrom: ARN("TTN_ENCRYPTION_SALT") },
    ]);
    assert.deepEqual([...MOVE_IMPORT_SECRET_ENV], ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "REDIS_URL"]);
    assert.deepEqual(byName.queue.secrets, [{ name: "REDIS_URL", valueFrom: ARN("REDIS_URL") }]);
    assert.equal(MOVE_IMPORT_CONTAINER, "restore");
    const { JWT_SECRET: _jwt, ...lacking } = input.secretArns;
    assert.throws(() => moveImportContainerDefinitions({ ...input, secretArns: lacking }), /no Secrets Manager ARN for JWT_SECRET/);
    for (const s of byName.restore.secrets) assert.match(s.valueFrom, /^arn:aws:secretsmanager:/);
    assert.deepEqual(byName.fetch.secrets, []);
    for (const d of defs) {
      for (const e of d.environment) {
        assert.ok(!["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY"].includes(e.name), `${d.name}: ${e.name}`);
        assert.ok(!e.value.includes("secretsmanager"), `${d.name}: ${e.name}`);
      }
    }
  });

  it("restore: TLS verify-full against the RDS CA, written where the URL's sslrootcert points", () => {
    assert.deepEqual(env(byName.restore), { MOVE_DIR, PGSSLMODE: "verify-full", PGSSLROOTCERT: RDS_CA_FILE, [RDS_CA_ENV]: input.rdsCa });
    assert.ok(RDS_CA_FILE.startsWith("/tmp/"), "the CA file is on the restore container's /tmp volume");
    assert.match(byName.restore.command[0], /printf '%s\\n' "\$\{RDS_CA_BUNDLE:\?RDS_CA_BUNDLE is empty\}" > "\$PGSSLROOTCERT"/);
    assert.match(
      byName.restore.command[0],
      /pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d "\$DATABASE_URL"/,
    );
  });

  it("fetch: backups bucket in the stack's region, assets in theirs; rclone's files on the scratch volume", () => {
    assert.deepEqual(env(byName.fetch), {
      AWS_REGION: input.region,
      BUCKET: input.backupsBucket,
      ASSETS_BUCKET: input.assetsBucket,
      ASSETS_REGION: input.assetsRegion,
      MOVE_DIR,
      RCLONE_CONFIG: `${MOVE_DIR}/.rclone.conf`,
      XDG_CACHE_HOME: `${MOVE_DIR}/.cache`,
    });
    const script = moveFetchScript();
    assert.match(script, /rclone copy ":s3:\$BUCKET\/move\/" "\$dir" --s3-provider AWS --s3-env-auth --s3-region "\$AWS_REGION"/);
    assert.match(script, /rclone size --json --fast-list ":s3:\$ASSETS_BUCKET" --s3-provider AWS --s3-env-auth --s3-region "\$ASSETS_REGION"/);
    assert.ok(!/\bjq\b/.test(script) && !/\bjq\b/.test(moveRestoreScript("frostguard")), "no jq in either image");
  });

  it("refuses a database name that is not a plain identifier", () => {
    assert.throws(() => moveRestoreScript("frost guard"), /plain identifier/);
    assert.throws(() => moveImportContainerDefinitions({ ...input, dbName: "x;drop" }), /plain identifier/);
  });

  it("computes the texts with the host scripts' SQL (FT_COUNT_SQL, FT_SEQUENCES_SQL)", () => {
    const shellVar = (file: string, name: string) => {
      const m = new RegExp(`^${name}="([^"]*)"`, "m").exec(fs.readFileSync(path.join(__dirname, "..", "..", "compose", "files", "bin", file), "utf8"));
      assert.ok(m, `${name} in ${file}`);
      return m[1];
    };
    assert.equal(MOVE_COUNT_SQL, shellVar("lib/db.sh", "FT_COUNT_SQL"));
    assert.equal(MOVE_SEQUENCES_SQL, shellVar("move-lib.sh", "FT_SEQUENCES_SQL"));
    const script = moveRestoreScript("frostguard");
    assert.ok(script.includes(MOVE_COUNT_SQL) && script.includes(MOVE_SEQUENCES_SQL));
  });

  it("task role: read move/ and decrypt it, list move/ and the assets bucket; nothing else", () => {
    const doc = moveImportTaskPolicy(BACKUPS, ASSETS, KEY);
    assert.deepEqual(grants(doc), [
      `kms:Decrypt ${KEY} null`,
      `s3:GetObject ${BACKUPS}/move/* null`,
      `s3:ListBucket ${ASSETS} null`,
      `s3:ListBucket ${BACKUPS} {"StringLike":{"s3:prefix":["move/*"]}}`,
    ]);
  });

  it("push user: write move/ only, sync the assets bucket, encrypt with the key; no wildcard, no other resource", () => {
    const doc = movePushUserPolicy(BACKUPS, ASSETS, KEY);
    assert.deepEqual(grants(doc), [
      `kms:Decrypt ${KEY} null`,
      `kms:Encrypt ${KEY} null`,
      `kms:GenerateDataKey ${KEY} null`,
      `s3:DeleteObject ${ASSETS}/* null`,
      `s3:GetObject ${ASSETS}/* null`,
      `s3:ListBucket ${ASSETS} null`,
      `s3:ListBucket ${BACKUPS} {"StringLike":{"s3:prefix":["move/*"]}}`,
      `s3:PutObject ${ASSETS}/* null`,
      `s3:PutObject ${BACKUPS}/move/* null`,
    ]);
  });

  for (const [name, doc] of [
    ["task role", moveImportTaskPolicy(BACKUPS, ASSETS, KEY)],
    ["push user", movePushUserPolicy(BACKUPS, ASSETS, KEY)],
  ] as const) {
    it(`${name}: every action named, every resource one of the two buckets or the key`, () => {
      const allowed = [BACKUPS, `${BACKUPS}/move/*`, ASSETS, `${ASSETS}/*`, KEY];
      for (const s of doc.Statement) {
        assert.equal(s.Effect, "Allow");
        for (const a of s.Action) assert.ok(!a.includes("*"), `${s.Sid}: ${a}`);
        for (const r of s.Resource) assert.ok(allowed.includes(r), `${s.Sid}: ${r}`);
        // Nothing on the backups bucket beyond move/ (no read of the dumps under postgres/).
        for (const r of s.Resource) if (r.startsWith(`${BACKUPS}/`)) assert.equal(r, `${BACKUPS}/move/*`);
      }
      assert.ok(!JSON.stringify(doc).includes("s3:*") && !JSON.stringify(doc).includes("kms:*"));
    });
  }

  describe("the report line", () => {
    const report = {
      tables_equal: true,
      sequences_equal: true,
      objects_equal: true,
      secrets_equal: true,
      tables: { 'public."SensorLog"': [3, 3], "public.readings": [240, 240] },
      objects: { old: [3, 74097], new: [3, 74097] },
      queue: { old: [12, 2], new: [12, 2] },
      queue_equal: true,
      ok: true,
    };
    const line = `${MOVE_IMPORT_MARKER} ${JSON.stringify(report)}`;

    it("finds it in a log blob (alone, or after a timestamp / stream name) and parses it", () => {
      assert.deepEqual(moveImportLogLine(`move-import: restoring db.dump\n${line}\n`), report);
      assert.deepEqual(moveImportLogLine(`2026-01-02T03:04:05Z restore/restore/abc ${line}`), report);
      assert.deepEqual(moveImportLogLine(`x\r\n${line}\r\n`), report);
    });

    it("a report without the queue's fields (an older task definition): both null", () => {
      const { queue: _q, queue_equal: _e, ...older } = report;
      assert.deepEqual(moveImportLogLine(`${MOVE_IMPORT_MARKER} ${JSON.stringify(older)}`), { ...older, queue: null, queue_equal: null });
      assert.equal(moveImportLogLine(`${MOVE_IMPORT_MARKER} ${JSON.stringify({ ...report, queue: { old: [1] } })}`), undefined);
    });

    it("takes the last well-formed one; nulls for a table only one side has", () => {
      const second = { ...report, tables_equal: false, ok: false, tables: { "public.x": [null, 4] } };
      assert.deepEqual(moveImportLogLine(`${line}\n${MOVE_IMPORT_MARKER} ${JSON.stringify(second)}\n${MOVE_IMPORT_MARKER} {broken`), second);
    });

    it("undefined without a marker line, or when the JSON is not a report", () => {
      assert.equal(moveImportLogLine(""), undefined);
      assert.equal(moveImportLogLine("move-import: pg_restore failed\n"), undefined);
      assert.equal(moveImportLogLine(`${MOVE_IMPORT_MARKER} {"ok": true}`), undefined);
      assert.equal(moveImportLogLine(`${MOVE_IMPORT_MARKER} ${JSON.stringify({ ...report, ok: "true" })}`), undefined);
      assert.equal(moveImportLogLine(`${MOVE_IMPORT_MARKER} ${JSON.stringify({ ...report, tables: { a: [1] } })}`), undefined);
      assert.equal(moveImportLogLine(`${MOVE_IMPORT_MARKER} ${JSON.stringify({ ...report, objects: { old: [1, 2] } })}`), undefined);
      assert.equal(moveImportLogLine(`X${line}`), undefined, "the marker starts a word");
    });
  });
});
