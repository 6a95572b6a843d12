// The aws move-export task's pure parts (components/aws/move-export.ts): its containers as ECS
// JSON, the task role and the pull user's policies, the awk program kept equal to the host's, the
// run-task overrides that carry the freeze's start, and the run step's script (move-run.ts, the
// import's) reading the export's report from the upload container's log stream.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  DUMP_COUNTS_AWK,
  MOVE_EXPORT_CONTAINER,
  MOVE_EXPORT_LOG_PREFIX,
  MOVE_EXPORT_MARKER,
  MOVE_EXPORT_SECRET_ENV,
  MOVE_EXPORT_VOLUMES,
  MOVE_FREEZE_ENV,
  MoveExportTaskInput,
  moveDumpScript,
  moveExportContainerDefinitions,
  moveExportOverrides,
  moveExportTaskPolicy,
  movePullUserPolicy,
  moveUploadScript,
} from "../../components/aws/move-export";
import { MOVE_DIR, MovePolicyDocument } from "../../components/aws/move-import";
import { moveImportRunScript } from "../../components/aws/move-run";
import { runTaskScript } from "../../components/aws/one-off";
import { RDS_CA_ENV, RDS_CA_FILE } from "../../components/aws/rds-ca";

const ARN = (name: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:freshtrack/prod/${name}-AbCdEf`;
const KEY = "arn:aws:kms:eu-central-1:123456789012:key/0000-1111";
const input: MoveExportTaskInput = {
  postgresImage: "postgres:16.10-alpine@sha256:aaaa",
  rcloneImage: "rclone/rclone:1.71.1@sha256:bbbb",
  redisImage: "valkey/valkey:8.1.3-alpine@sha256:cccc",
  dbName: "frostguard",
  rdsCa: "-----BEGIN CERTIFICATE-----\nRDSCA\n-----END CERTIFICATE-----\n",
  backupsBucket: "freshtrack-prod-backups-123456789012",
  assetsBucket: "freshtrack-prod-assets-123456789012",
  kmsKeyArn: KEY,
  region: "eu-central-1",
  assetsRegion: "us-east-1",
  logGroup: "/freshtrack/prod/move-export",
  // Another app secret in the map must not reach the task.
  secretArns: {
    DATABASE_URL: ARN("DATABASE_URL"),
    JWT_SECRET: ARN("JWT_SECRET"),
    TTN_ENCRYPTION_SALT: ARN("TTN_ENCRYPTION_SALT"),
    REDIS_URL: ARN("REDIS_URL"),
    MINIO_ROOT_PASSWORD: ARN("MINIO_ROOT_PASSWORD"),
  },
};

interface Def {
  name: string;
  image: string;
  essential: boolean;
  user: string;
  entryPoint: string[];
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

/** [action, resource, condition] triples of a policy (sorted). */
const grants = (doc: MovePolicyDocument) =>
  doc.Statement.flatMap((s) => s.Action.flatMap((a) => s.Resource.map((r) => [a, r, JSON.stringify(s.Condition ?? null)].join(" ")))).sort();

describe("aws move-export task", () => {
  const defs = JSON.parse(moveExportContainerDefinitions(input)) as Def[];
  const byName = Object.fromEntries(defs.map((d) => [d.name, d]));
  const env = (d: Def) => Object.fromEntries(d.environment.map((e) => [e.name, e.value]));

  it("volumes -> dump (postgres, 70) -> queue (valkey, 999) -> upload (rclone, 65534, essential), read-only roots", () => {
    assert.deepEqual(
      defs.map((d) => [d.name, d.image, d.user, d.essential]),
      [
        ["volumes", input.rcloneImage, "0", false],
        ["dump", input.postgresImage, "70", false],
        ["queue", input.redisImage, "999", false],
        ["upload", input.rcloneImage, "65534", true],
      ],
    );
    for (const d of defs) {
      assert.equal(d.readonlyRootFilesystem, true, d.name);
      assert.deepEqual(d.entryPoint, ["sh", "-c"], d.name);
    }
    assert.deepEqual(byName.dump.dependsOn, [{ containerName: "volumes", condition: "SUCCESS" }]);
    assert.deepEqual(byName.queue.dependsOn, [{ containerName: "dump", condition: "SUCCESS" }]);
    assert.deepEqual(byName.upload.dependsOn, [{ containerName: "queue", condition: "SUCCESS" }]);
    // The root container only makes the scratch volumes writable: no secret, no environment.
    assert.deepEqual(byName.volumes.command, [`chmod 1777 ${MOVE_DIR} /tmp`]);
    assert.deepEqual([byName.volumes.secrets, byName.volumes.environment], [[], []]);
    const volumes = new Set(MOVE_EXPORT_VOLUMES.map((v) => v.name));
    for (const d of defs) for (const m of d.mountPoints) assert.ok(volumes.has(m.sourceVolume), `${d.name}: ${m.sourceVolume}`);
    assert.deepEqual(
      byName.dump.mountPoints.map((m) => m.containerPath),
      [MOVE_DIR, "/tmp"],
    );
    assert.deepEqual(
      byName.upload.mountPoints.map((m) => m.containerPath),
      [MOVE_DIR],
    );
  });

  it("awslogs with the stream prefixes volumes / dump / upload; the result is the upload container's", () => {
    for (const d of defs) {
      assert.equal(d.logConfiguration.logDriver, "awslogs");
      assert.deepEqual(d.logConfiguration.options, { "awslogs-group": input.logGroup, "awslogs-region": input.region, "awslogs-stream-prefix": d.name });
    }
    assert.equal(MOVE_EXPORT_CONTAINER, "upload");
    assert.equal(MOVE_EXPORT_LOG_PREFIX, byName[MOVE_EXPORT_CONTAINER].logConfiguration.options["awslogs-stream-prefix"]);
  });

  it("dump reads DATABASE_URL, JWT_SECRET, TTN_ENCRYPTION_SALT by ARN only; no secret in any environment or command", () => {
    assert.deepEqual(byName.dump.secrets, [
      { name: "DATABASE_URL", valueFrom: ARN("DATABASE_URL") },
      { name: "JWT_SECRET", valueFrom: ARN("JWT_SECRET") },
      { name: "TTN_ENCRYPTION_SALT", valueFrom: ARN("TTN_ENCRYPTION_SALT") },
    ]);
    assert.deepEqual([...MOVE_EXPORT_SECRET_ENV], ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "REDIS_URL"]);
    assert.deepEqual(byName.queue.secrets, [{ name: "REDIS_URL", valueFrom: ARN("REDIS_URL") }]);
    assert.deepEqual(byName.upload.secrets, []);
    const { TTN_ENCRYPTION_SALT: _salt, ...lacking } = input.secretArns;
    assert.throws(() => moveExportContainerDefinitions({ ...input, secretArns: lacking }), /no Secrets Manager ARN for TTN_ENCRYPTION_SALT/);
    const json = moveExportContainerDefinitions(input);
    assert.ok(!json.includes("MINIO_ROOT_PASSWORD"), "only the three secrets the dump needs");
    for (const d of defs) {
      for (const e of d.environment) {
        assert.ok(
          !["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY", MOVE_FREEZE_ENV].includes(e.name),
          `${d.name}: ${e.name}`,
        );
        assert.ok(!e.value.includes("secretsmanager"), `${d.name}: ${e.name}`);
      }
      assert.ok(!d.command.join("\n").includes("secretsmanager"), d.name);
    }
  });

  it("the scripts: the secrets only hashed (digests, never echoed), no jq, no bash-isms the images lack", () => {
    const dump = moveDumpScript("frostguard");
    const upload = moveUploadScript();
    for (const s of [dump, upload]) {
      assert.ok(!/\bjq\b/.test(s), "no jq in either image");
      assert.ok(!/pipefail|\[\[|<<<|\$\{[A-Za-z_]+\/\//.test(s), "POSIX sh");
      assert.ok(!/set -x/.test(s));
    }
    // JWT_SECRET and TTN_ENCRYPTION_SALT appear exactly once each: as the digest's argument.
    for (const name of ["JWT_SECRET", "TTN_ENCRYPTION_SALT"]) {
      assert.deepEqual(
        dump.split("\n").filter((l) => l.includes(name)),
        [`${name === "JWT_SECRET" ? "jwt" : "salt"}=$(digest "\${${name}:-}")`],
      );
      assert.ok(!upload.includes(name));
    }
    assert.match(dump, /digest\(\) \{ if \[ -n "\$1" \]; then printf %s "\$1" \| sha256sum \| cut -c1-64; else printf missing; fi; \}/);
    // DATABASE_URL's value only checked for presence and handed to the PostgreSQL clients.
    for (const l of dump.split("\n").filter((x) => /\$\{?DATABASE_URL/.test(x)))
      assert.match(
        l,
        /^(: "\$\{DATABASE_URL:\?DATABASE_URL is empty\}"|.*psql -X -At -v ON_ERROR_STOP=1 -d "\$DATABASE_URL".*|pg_dump --format=custom --compress=1 --dbname="\$DATABASE_URL" .*)$/,
        l,
      );
    assert.ok(!upload.includes("DATABASE_URL"));
  });

  it("dump: TLS verify-full against the RDS CA, written where the URL's sslrootcert points; counts from the dump", () => {
    assert.deepEqual(env(byName.dump), { MOVE_DIR, PGSSLMODE: "verify-full", PGSSLROOTCERT: RDS_CA_FILE, [RDS_CA_ENV]: input.rdsCa });
    const s = byName.dump.command[0];
    assert.match(s, /printf '%s\\n' "\$\{RDS_CA_BUNDLE:\?RDS_CA_BUNDLE is empty\}" > "\$PGSSLROOTCERT"/);
    // gzip level 1: the cutover's dump runs inside the write freeze.
    assert.match(s, /pg_dump --format=custom --compress=1 --dbname="\$DATABASE_URL" --file="\$dir\/db\.dump"/);
    assert.match(s, /pg_restore --data-only -f - "\$dir\/db\.dump"/);
    assert.match(s, /LC_ALL=C sort "\$work\/tables\.raw"/);
    assert.match(s, /LC_ALL=C sort "\$work\/sequences\.raw"/);
  });

  it("counts the COPY blocks with the host's own awk program (ft_db_dump_counts)", () => {
    const db = fs.readFileSync(path.join(__dirname, "..", "..", "compose", "files", "bin", "lib", "db.sh"), "utf8");
    const m = /^ft_db_dump_counts\(\) \{\n {2}awk '([^']*)'\n\}/m.exec(db);
    assert.ok(m, "ft_db_dump_counts in lib/db.sh");
    assert.equal(DUMP_COUNTS_AWK, m[1]);
    assert.ok(moveDumpScript("frostguard").includes(DUMP_COUNTS_AWK));
  });

  it("refuses a database name that is not a plain identifier", () => {
    assert.throws(() => moveDumpScript("frost guard"), /plain identifier/);
    assert.throws(() => moveExportContainerDefinitions({ ...input, dbName: "x;drop" }), /plain identifier/);
  });

  it("upload: backups bucket and key in the stack's region, assets in theirs; SSE-KMS; manifest last", () => {
    assert.deepEqual(env(byName.upload), {
      AWS_REGION: input.region,
      BUCKET: input.backupsBucket,
      SSE_KMS_ARN: KEY,
      ASSETS_BUCKET: input.assetsBucket,
      ASSETS_REGION: input.assetsRegion,
      MOVE_DIR,
      RCLONE_CONFIG: `${MOVE_DIR}/.rclone.conf`,
      XDG_CACHE_HOME: `${MOVE_DIR}/.cache`,
    });
    const s = moveUploadScript();
    assert.match(s, /rclone size --json --fast-list ":s3:\$ASSETS_BUCKET" --s3-provider AWS --s3-env-auth --s3-region "\$ASSETS_REGION"/);
    assert.match(
      s,
      /rclone copyto "\$dir\/\$1" ":s3:\$BUCKET\/move\/\$1" --s3-provider AWS --s3-env-auth --s3-region "\$AWS_REGION" --s3-server-side-encryption aws:kms --s3-sse-kms-key-id "\$SSE_KMS_ARN"/,
    );
    const at = (needle: string) => {
      const i = s.indexOf(needle);
      assert.ok(i >= 0, needle);
      return i;
    };
    const deleteManifest = at('rclone delete ":s3:$BUCKET/move/" --include "/manifest.json"');
    const deleteRest = at('rclone delete ":s3:$BUCKET/move/" --s3-provider');
    const putFiles = at("for f in db.dump queue.redis queue.txt tables.txt sequences.txt objects.txt secrets.txt; do put");
    const putManifest = at("put manifest.json");
    assert.ok(at("rclone size") < deleteManifest && deleteManifest < deleteRest && deleteRest < putFiles && putFiles < putManifest);
    assert.ok(putManifest < at(`printf '${MOVE_EXPORT_MARKER} {`), "the report only after the manifest");
  });

  it("task role: replace move/ (put, delete, list the prefix) with the key; list the assets bucket; nothing else", () => {
    assert.deepEqual(grants(moveExportTaskPolicy(BACKUPS, ASSETS, KEY)), [
      `kms:Decrypt ${KEY} null`,
      `kms:Encrypt ${KEY} null`,
      `kms:GenerateDataKey ${KEY} null`,
      `s3:DeleteObject ${BACKUPS}/move/* null`,
      `s3:ListBucket ${ASSETS} null`,
      `s3:ListBucket ${BACKUPS} {"StringLike":{"s3:prefix":["move/*"]}}`,
      `s3:PutObject ${BACKUPS}/move/* null`,
    ]);
  });

  it("pull user (the new host's key): read move/ and decrypt it, read the assets bucket; no write, no delete", () => {
    assert.deepEqual(grants(movePullUserPolicy(BACKUPS, ASSETS, KEY)), [
      `kms:Decrypt ${KEY} null`,
      `s3:GetObject ${ASSETS}/* null`,
      `s3:GetObject ${BACKUPS}/move/* null`,
      `s3:ListBucket ${ASSETS} null`,
      `s3:ListBucket ${BACKUPS} {"StringLike":{"s3:prefix":["move/*"]}}`,
    ]);
  });

  for (const [name, doc] of [
    ["task role", moveExportTaskPolicy(BACKUPS, ASSETS, KEY)],
    ["pull user", movePullUserPolicy(BACKUPS, ASSETS, KEY)],
  ] as const) {
    it(`${name}: every action named, every resource one of the two buckets or the key, nothing beyond move/ in the backups`, () => {
      const allowed = [BACKUPS, `${BACKUPS}/move/*`, ASSETS, `${ASSETS}/*`, KEY];
      for (const s of doc.Statement) {
        assert.equal(s.Effect, "Allow");
        for (const a of s.Action) assert.ok(!a.includes("*"), `${s.Sid}: ${a}`);
        for (const r of s.Resource) assert.ok(allowed.includes(r), `${s.Sid}: ${r}`);
        for (const r of s.Resource) if (r.startsWith(`${BACKUPS}/`)) assert.equal(r, `${BACKUPS}/move/*`);
        // A listing of the whole backups bucket would show the dumps' names: only the prefix.
        if (s.Resource.includes(BACKUPS)) assert.deepEqual(s.Condition, { StringLike: { "s3:prefix": ["move/*"] } });
      }
      assert.ok(!JSON.stringify(doc).includes("s3:*") && !JSON.stringify(doc).includes("kms:*"));
    });
  }

  it("the run-task overrides hand the queue and upload containers MOVE_FREEZE_STARTED (epoch seconds only)", () => {
    const environment = [{ name: "MOVE_FREEZE_STARTED", value: "1767225600.123456789" }];
    assert.deepEqual(JSON.parse(moveExportOverrides("1767225600.123456789")), {
      containerOverrides: [
        { name: "queue", environment },
        { name: "upload", environment },
      ],
    });
    assert.equal(JSON.parse(moveExportOverrides("1767225600")).containerOverrides[0].environment[0].value, "1767225600");
    for (const bad of ["", "null", "0", "1.2.3", "17672256 00", '1"}]']) assert.throws(() => moveExportOverrides(bad), /not epoch seconds/, bad);
  });
});

// A fake `aws` CLI: records its argv (one line per call; --overrides' JSON on a line of its own).
const FAKE_AWS = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_DIR/calls"
prev=
for a in "$@"; do [ "$prev" != --overrides ] || printf '%s\\n' "$a" > "$FAKE_DIR/overrides"; prev=$a; done
case "$1 $2" in
  "ecs run-task") printf 'arn:aws:ecs:eu-central-1:1:task/c/abc123\\t0\\n' ;;
  "ecs wait") ;;
  "ecs describe-tasks") case "$*" in *exitCode*) echo "\${FAKE_EXIT:-0}" ;; *) echo "Essential container in task exited" ;; esac ;;
  "logs get-log-events") printf '%s\\n' "\${FAKE_LOG_LINE:-None}" ;;
esac
`;

function bash(script: string, env: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-aws-export-"));
  fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const p = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, ...env } });
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
  const out = { status: p.status, stdout: p.stdout, stderr: p.stderr, calls: read("calls").trim().split("\n"), overrides: read("overrides").trim() };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

/** What createMoveExport's runTask holds (ids only). */
const runEnv = {
  AWS_REGION: "eu-central-1",
  CLUSTER: "arn:cluster",
  TASK_DEFINITION: "arn:td:move-export:1",
  CONTAINER: MOVE_EXPORT_CONTAINER,
  SUBNETS: "subnet-a",
  SECURITY_GROUPS: "sg-1",
  ASSIGN_PUBLIC_IP: "ENABLED",
  LOG_GROUP: "/freshtrack/aws/move-export",
  LOG_STREAM_PREFIX: MOVE_EXPORT_LOG_PREFIX,
};

describe("aws move-export: the run (fake aws CLI)", () => {
  const report = { tables: 4, sequences: 3, objects: { count: 3, bytes: 74097 }, dump_bytes: 9000, freeze_started: null };

  it("moveImportRunScript(MOVE_EXPORT_MARKER) reads the report from the upload container's stream of that task", () => {
    const r = bash(moveImportRunScript(MOVE_EXPORT_MARKER), {
      ...runEnv,
      FAIL_ON_ERROR: "1",
      FAKE_LOG_LINE: `${MOVE_EXPORT_MARKER} ${JSON.stringify(report)}`,
    });
    assert.equal(r.status, 0, r.stderr);
    const { seconds, ...line } = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.deepEqual(line, { task: "arn:aws:ecs:eu-central-1:1:task/c/abc123", exit: 0, import: report, ok: true });
    assert.ok(Number.isInteger(seconds), "the run's seconds: the cutover's move-forecast reads them");
    assert.ok(
      r.calls.some((c) => c.includes("--log-stream-name upload/upload/abc123")),
      r.calls.join("\n"),
    );
    assert.ok(
      r.calls.some((c) => c.includes("containers[?name=='upload']")),
      "the upload container's exit code decides",
    );
    const failed = bash(moveImportRunScript(MOVE_EXPORT_MARKER), { ...runEnv, FAIL_ON_ERROR: "1", FAKE_EXIT: "None" });
    assert.equal(failed.status, 1, "a dump that failed leaves the upload container without an exit code");
  });

  it("runTaskScript({ overrides: true }) passes OVERRIDES_JSON as --overrides, and nothing when it is unset or empty", () => {
    const json = moveExportOverrides("1767225600.5");
    const withIt = bash(runTaskScript({ overrides: true }), { ...runEnv, OVERRIDES_JSON: json });
    assert.equal(withIt.status, 0, withIt.stderr);
    assert.equal(withIt.overrides, json);
    for (const e of [{}, { OVERRIDES_JSON: "" }] as Record<string, string>[]) {
      const r = bash(runTaskScript({ overrides: true }), { ...runEnv, ...e });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!r.calls[0].includes("--overrides"), r.calls[0]);
    }
  });

  it("runTaskScript() without options is the script db-setup, migrate and the import have always run", () => {
    assert.ok(!runTaskScript().includes("OVERRIDES_JSON"));
    assert.equal(runTaskScript({}), runTaskScript());
    assert.equal(runTaskScript({ overrides: true }).replace(' ${OVERRIDES_JSON:+--overrides "$OVERRIDES_JSON"}', ""), runTaskScript());
    const r = bash(runTaskScript(), { ...runEnv, OVERRIDES_JSON: moveExportOverrides("1767225600") });
    assert.ok(!r.calls[0].includes("--overrides"));
  });
});
