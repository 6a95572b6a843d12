// Pure AWS helpers: execution-role policies list exactly the task's secrets,
// ALB routing follows docs/app-contract.md without rewriting, alarms are sane, one-off scripts
// carry no secrets.
import { strict as assert } from "assert";
import { alarmSpecs } from "../../components/aws/alarms";
import { executionRolePolicy, readableSecretArns, secretArnOf, assetsBucketUserPolicy } from "../../components/aws/iam-policies";
import { databaseUrl, redisUrl, scramSha256Verifier } from "../../components/aws/connection-urls";
import { dbSetupSql, runTaskScript } from "../../components/aws/one-off";
import { BACKEND_PATHS, listenerRules, routeFor } from "../../components/aws/routing";
import { REQUIRED_APP_SECRETS, USER_SECRET_ENV, unmappedAppSecrets } from "../../components/aws/secret-map";

const arn = (n: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:freshtrack/t/${n}-AbCdEf`;
const LOGS = "arn:aws:logs:eu-west-1:123456789012:log-group:/freshtrack/t/backend";

describe("aws iam: execution role policy", () => {
  it("lets the role read exactly the given secrets, deduplicated and sorted", () => {
    const doc = executionRolePolicy({ secretValueFroms: [arn("JWT_SECRET"), arn("DATABASE_URL"), arn("JWT_SECRET")], logGroupArn: LOGS });
    assert.deepEqual(readableSecretArns(doc), [arn("DATABASE_URL"), arn("JWT_SECRET")]);
    const sm = doc.Statement.filter((s) => s.Action.some((a) => a.startsWith("secretsmanager:")));
    assert.equal(sm.length, 1);
    assert.deepEqual(sm[0].Action, ["secretsmanager:GetSecretValue"]);
    assert.ok(!JSON.stringify(doc).includes("secretsmanager:*"));
    for (const s of doc.Statement)
      if (s.Resource.includes("*"))
        assert.ok(
          s.Action.every((a) => a.startsWith("ecr:")),
          `${s.Sid} grants ${s.Action} on *`,
        );
  });
  it("a task without secrets gets no secrets statement at all", () => {
    assert.deepEqual(readableSecretArns(executionRolePolicy({ secretValueFroms: [], logGroupArn: LOGS })), []);
  });
  it("JSON-key references (RDS master secret ':password::') grant the secret itself, nothing wider", () => {
    assert.equal(secretArnOf(`${arn("master")}:password::`), arn("master"));
    assert.equal(secretArnOf(arn("x")), arn("x"));
    const doc = executionRolePolicy({ secretValueFroms: [`${arn("master")}:password::`], logGroupArn: LOGS });
    assert.deepEqual(readableSecretArns(doc), [arn("master")]);
  });
  it("logs only to its own group", () => {
    const doc = executionRolePolicy({ secretValueFroms: [], logGroupArn: LOGS });
    const logs = doc.Statement.find((s) => s.Action.some((a) => a.startsWith("logs:")))!;
    assert.deepEqual(logs.Resource, [`${LOGS}:*`]);
  });
  it("the assets user can touch its one bucket only", () => {
    const doc = assetsBucketUserPolicy("arn:aws:s3:::b1");
    const resources = doc.Statement.flatMap((s) => s.Resource);
    assert.deepEqual([...new Set(resources)].sort(), ["arn:aws:s3:::b1", "arn:aws:s3:::b1/*"]);
    assert.ok(doc.Statement.every((s) => s.Action.every((a) => a.startsWith("s3:") && a !== "s3:*")));
  });
});

describe("aws routing: app-contract prefixes to the backend, the rest to the frontend", () => {
  it("one rule per backend prefix, unique priorities, forward only (no path rewriting)", () => {
    const rules = listenerRules();
    assert.deepEqual(
      rules.flatMap((r) => r.pathPatterns),
      [...BACKEND_PATHS],
    );
    assert.equal(new Set(rules.map((r) => r.priority)).size, rules.length);
    assert.equal(new Set(rules.map((r) => r.name)).size, rules.length);
    assert.ok(rules.every((r) => r.service === "backend"));
  });
  const cases: [string, "backend" | "frontend"][] = [
    ["/api/webhooks/ttn", "backend"],
    ["/trpc/readings.list", "backend"],
    ["/socket.io/?EIO=4&transport=websocket", "backend"],
    ["/health", "backend"],
    ["/health/ready", "backend"],
    ["/unsubscribe?token=abc", "backend"],
    ["/", "frontend"],
    ["/dashboard", "frontend"],
    ["/assets/index-abc.js", "frontend"],
    ["/apidocs", "frontend"],
  ];
  for (const [path, where] of cases) it(`${path} -> ${where}`, () => assert.equal(routeFor(path.split("?")[0]), where));
});

describe("aws alarms", () => {
  const targets = {
    loadBalancer: "lb",
    backendTargetGroup: "tgb",
    frontendTargetGroup: "tgf",
    cluster: "c",
    services: { backend: "b", worker: "w", frontend: "f" },
    dbInstance: "db",
    redisCluster: "r-001",
  };
  const specs = alarmSpecs(targets, { dbAllocatedStorageGb: 20, dbMaxConnections: 100 });
  it("covers ALB 5xx, unhealthy hosts, ECS CPU/memory per service, RDS CPU/storage/connections", () => {
    const names = specs.map((s) => s.name);
    for (const n of [
      "alb-target-5xx",
      "alb-elb-5xx",
      "backend-unhealthy-hosts",
      "backend-no-healthy-hosts",
      "backend-cpu",
      "backend-memory",
      "worker-cpu",
      "worker-memory",
      "frontend-cpu",
      "frontend-memory",
      "rds-cpu",
      "rds-free-storage",
      "rds-connections",
    ])
      assert.ok(names.includes(n), n);
    assert.equal(new Set(names).size, names.length);
  });
  it("thresholds follow the sizes", () => {
    const by = Object.fromEntries(specs.map((s) => [s.name, s]));
    assert.equal(by["rds-free-storage"].threshold, 20 * 0.2 * 1024 ** 3);
    assert.equal(by["rds-connections"].threshold, 80);
    assert.equal(alarmSpecs(targets, { dbAllocatedStorageGb: 100, dbMaxConnections: 200 }).find((s) => s.name === "rds-connections")!.threshold, 160);
  });
  it("count alarms do not fire on quiet nights (missing data is not an error)", () => {
    for (const s of specs.filter((x) => x.metricName.endsWith("5XX_Count"))) assert.equal(s.treatMissingData, "notBreaching");
  });
});

describe("aws secret sources", () => {
  it("every app secret of core/model.ts is either built by the target or a user credential", () => {
    assert.deepEqual(unmappedAppSecrets(), []);
    for (const n of REQUIRED_APP_SECRETS) assert.ok(!(n in USER_SECRET_ENV), `${n} has two sources`);
  });
});

describe("aws one-off tasks and URLs", () => {
  it("the run-task script reads only ids from its environment and checks the exit code", () => {
    const s = runTaskScript();
    assert.match(s, /aws ecs run-task/);
    assert.match(s, /aws ecs wait tasks-stopped/);
    assert.match(s, /exitCode/);
    assert.match(s, /\[ "\$code" != "0" \]/);
    assert.doesNotMatch(s, /PASSWORD|SECRET|DATABASE_URL/);
  });
  it("db-setup SQL takes the role's SCRAM verifier from the environment, never inline", () => {
    const sql = dbSetupSql("frostguard", "frostguard");
    assert.match(sql, /\\getenv app_verifier APP_DB_PASSWORD_SCRAM/);
    assert.match(sql, /CREATE ROLE frostguard LOGIN PASSWORD %L/);
    assert.match(sql, /ALTER DATABASE frostguard OWNER TO frostguard/);
    assert.throws(() => dbSetupSql("x; drop", "y"));
  });
  it("SCRAM-SHA-256 verifier: PostgreSQL's format, stable for a password, reveals nothing of it", () => {
    const v = scramSha256Verifier("Abc123XyZ");
    // Checked against PostgreSQL 15: ALTER ROLE ... PASSWORD '<this>' then a login with Abc123XyZ succeeds.
    assert.equal(v, "SCRAM-SHA-256$4096:7nDrxGfcarGBQMNDFwhdXA==$BEXyuPYG4hm2RojpTQyen0vVwsygqc2aAt1yGyQbg/E=:OlaueHUc6vvGhRAjz18t/jBlGsir/E0uDKngXCX9MS0=");
    assert.equal(scramSha256Verifier("Abc123XyZ"), v);
    assert.notEqual(scramSha256Verifier("Abc123XyZ2"), v);
    assert.ok(!v.includes("Abc123XyZ"));
  });
  it("credentials are URL-encoded in DATABASE_URL and REDIS_URL", () => {
    assert.equal(
      databaseUrl("frostguard", "a/b+c=d@e", "h", "frostguard"),
      "postgresql://frostguard:a%2Fb%2Bc%3Dd%40e@h:5432/frostguard?sslmode=verify-full&sslrootcert=%2Ftmp%2Frds-ca.pem",
    );
    assert.equal(redisUrl("p/+=", "r"), "rediss://:p%2F%2B%3D@r:6379");
  });
});
