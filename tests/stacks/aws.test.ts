// The aws stack under mocks: the properties that keep readings and credentials
// safe, checked on the resources the real program declares.
import { strict as assert } from "assert";
import { LASTING_SECRET_NAMES } from "../../components/shared/secrets";
import { BACKEND_PATHS } from "../../components/aws/routing";
import { scramSha256Verifier } from "../../components/aws/connection-urls";
import { appServices } from "../../core/model";
import { USER_SECRET_ENV } from "../../components/aws/secret-map";
import type { PlanResult, PlannedResource } from "../../scripts/lib/program";
import { dummyPassword, dummySecret } from "../../scripts/lib/program";
import { mustPlan, ofType, one, unmarkedStrings } from "../helpers/plan";
import { regionalRdsCa } from "../../components/aws/rds-ca";
import * as fs from "fs";
import * as path from "path";

const USER_SECRETS: Record<string, string> = Object.fromEntries(Object.values(USER_SECRET_ENV).map((k) => [k, dummySecret(k)]));
const T = {
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  listener: "aws:lb/listener:Listener",
  rule: "aws:lb/listenerRule:ListenerRule",
  tg: "aws:lb/targetGroup:TargetGroup",
  alb: "aws:lb/loadBalancer:LoadBalancer",
  td: "aws:ecs/taskDefinition:TaskDefinition",
  svc: "aws:ecs/service:Service",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  bucket: "aws:s3/bucket:Bucket",
  cmd: "command:local:Command",
};

interface Container {
  name: string;
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  healthCheck?: { command: string[] };
  readonlyRootFilesystem: boolean;
  stopTimeout: number;
}
const containers = (td: PlannedResource): Container[] => JSON.parse(td.inputs.containerDefinitions as string) as Container[];
/** Only what the model reads for health checks, commands and stop grace: images and URLs do not matter here. */
const APP_FIXTURE = {
  domain: "app.dairy-coop.example",
  operatorEmail: "ops@dairy-coop.example",
  tlsMode: "acme" as const,
  images: { backend: "b:1", worker: "w:1", frontend: "f:1" },
  imageOverrides: {},
  imageDigests: true,
  logLevel: "info",
  stackAuthProjectId: "p",
  stackAuthPublishableKey: "",
  ttnApiUrl: "https://eu1.cloud.thethings.network",
  ttnApplicationId: "",
  emailFromAddress: "",
  telnyxPhoneNumber: "",
  telnyxMessagingProfileId: "",
  rateLimit: { max: 10000, windowMs: 60000, expectedWebhooksPerMinute: 0 },
};
const inputsOf = (r: PlanResult, type: string, name: string) => one(r, type, name).inputs;

describe("stacks/aws: the AWS target under mocks", () => {
  let r: PlanResult; // default sizes, every user secret set
  before(() => {
    r = mustPlan("aws", {}, USER_SECRETS);
  });

  it("one explicit provider for the configured region; every resource inside the component", () => {
    const providers = ofType(r, "pulumi:providers:aws");
    assert.deepEqual(
      providers.map((p) => [p.name, p.inputs.region]),
      [["aws", "us-east-1"]],
    );
    const strays = r.resources.filter((x) => (x.type.startsWith("aws:") || x.type.startsWith("command:")) && x.parent !== "freshtrack:aws:Target::aws");
    assert.deepEqual(
      strays.map((s) => `${s.type} ${s.name}`),
      [],
    );
  });

  it("security groups: only the ALB is open to the internet; tasks from the ALB; data stores from app tasks only", () => {
    const sgId = (name: string) => `${name}-id`;
    const ing = ofType(r, T.ingress).map((x) => ({
      sg: x.inputs.securityGroupId,
      port: x.inputs.fromPort,
      to: x.inputs.toPort,
      cidr: x.inputs.cidrIpv4,
      from: x.inputs.referencedSecurityGroupId,
    }));
    const open = ing.filter((i) => i.cidr !== undefined);
    assert.deepEqual(open.map((i) => [i.sg, i.port, i.cidr]).sort(), [
      [sgId("alb"), 443, "0.0.0.0/0"],
      [sgId("alb"), 80, "0.0.0.0/0"],
    ]);
    const rules = ing
      .filter((i) => i.cidr === undefined)
      .map((i) => `${i.sg}:${i.port}-${i.to}<-${i.from}`)
      .sort();
    assert.deepEqual(rules, ["app-id:3000-3000<-alb-id", "db-id:5432-5432<-app-id", "frontend-id:8080-8080<-alb-id", "redis-id:6379-6379<-app-id"]);
    // Data stores have no egress at all; the ALB may only reach the task ports.
    const eg = ofType(r, T.egress);
    assert.deepEqual(
      eg.filter((e) => ["db-id", "redis-id"].includes(e.inputs.securityGroupId as string)),
      [],
    );
    assert.deepEqual(
      eg
        .filter((e) => e.inputs.securityGroupId === "alb-id")
        .map((e) => `${e.inputs.fromPort}->${e.inputs.referencedSecurityGroupId}`)
        .sort(),
      ["3000->app-id", "8080->frontend-id"],
    );
    assert.ok(
      eg.every((e) => e.inputs.ipProtocol === "tcp"),
      "no all-protocol egress",
    );
  });

  it("HTTPS listener with TLS 1.3/1.2 policy and the validated certificate; HTTP only redirects", () => {
    const https = inputsOf(r, T.listener, "https");
    assert.equal(https.protocol, "HTTPS");
    assert.equal(https.port, 443);
    assert.equal(https.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
    assert.ok(https.certificateArn, "certificate attached");
    const http = inputsOf(r, T.listener, "http");
    assert.deepEqual(http.defaultActions, [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
    const alb = one(r, T.alb).inputs;
    assert.equal(alb.idleTimeout, 3600);
    assert.equal(alb.internal, false);
  });

  it("listener rules forward the app contract's prefixes to the backend, unrewritten; default to the frontend", () => {
    const backendTg = one(r, T.tg, "backend");
    const rules = ofType(r, T.rule);
    const patterns = rules.flatMap((x) => (x.inputs.conditions as { pathPattern: { values: string[] } }[]).flatMap((c) => c.pathPattern.values));
    assert.deepEqual(patterns.sort(), [...BACKEND_PATHS].sort());
    for (const x of rules) {
      assert.deepEqual(x.inputs.actions, [{ type: "forward", targetGroupArn: `arn:aws:mock:us-east-1:123456789012:${backendTg.name}` }]);
      assert.equal(x.inputs.transforms, undefined, "no URL rewrite");
    }
    const https = inputsOf(r, T.listener, "https");
    assert.deepEqual(https.defaultActions, [{ type: "forward", targetGroupArn: "arn:aws:mock:us-east-1:123456789012:frontend" }]);
  });

  it("target groups: ip targets, readiness health checks, drain before SIGTERM", () => {
    const b = inputsOf(r, T.tg, "backend");
    const f = inputsOf(r, T.tg, "frontend");
    assert.equal(b.targetType, "ip");
    assert.equal((b.healthCheck as { path: string }).path, "/health/ready");
    assert.equal((f.healthCheck as { path: string }).path, "/health");
    // Drain at least as long as the model's stop grace (longer than the longest request).
    const grace = containers(one(r, T.td, "backend"))[0].stopTimeout;
    assert.ok((b.deregistrationDelay as number) >= grace && grace >= 30, `drain ${b.deregistrationDelay}s vs grace ${grace}s`);
    assert.ok((f.deregistrationDelay as number) <= 30);
    assert.equal((b.stickiness as { enabled: boolean }).enabled, true, "socket.io polling needs stickiness with >1 backend");
  });

  it("RDS: encrypted, private, 30 days of backups, deletion protection, protect, final snapshot, TLS forced, AWS-managed master", () => {
    const db = one(r, "aws:rds/instance:Instance");
    const i = db.inputs;
    assert.equal(i.storageEncrypted, true);
    assert.equal(i.publiclyAccessible, false);
    assert.equal(i.backupRetentionPeriod, 30);
    assert.equal(i.deletionProtection, true);
    assert.equal(db.options.protect, true);
    assert.equal(i.skipFinalSnapshot, false);
    assert.match(i.finalSnapshotIdentifier as string, /final/);
    assert.equal(i.storageType, "gp3");
    assert.equal(i.engine, "postgres");
    assert.equal(i.engineVersion, "16");
    assert.equal(i.instanceClass, "db.t4g.micro");
    assert.equal(i.manageMasterUserPassword, true);
    assert.equal(i.password, undefined);
    assert.notEqual(i.username, "frostguard", "the app role is not the master");
    const pg = one(r, "aws:rds/parameterGroup:ParameterGroup").inputs;
    assert.equal(pg.family, "postgres16");
    assert.ok((pg.parameters as { name: string; value: string }[]).some((p) => p.name === "rds.force_ssl" && p.value === "1"));
  });

  it("Redis: Valkey, noeviction, TLS in transit, AUTH token from the lasting password (secret)", () => {
    const rg = one(r, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
    assert.equal(rg.engine, "valkey");
    assert.equal(rg.transitEncryptionEnabled, true);
    assert.equal(rg.atRestEncryptionEnabled, true);
    assert.equal(rg.nodeType, "cache.t4g.micro");
    assert.deepEqual(rg.authToken, { $secret: dummyPassword(LASTING_SECRET_NAMES.redisPassword) });
    const pg = one(r, "aws:elasticache/parameterGroup:ParameterGroup").inputs;
    assert.deepEqual(pg.parameters, [{ name: "maxmemory-policy", value: "noeviction" }]);
  });

  it("buckets: public access blocked, encrypted, versioned, protected; backups expire after backupRetentionDays; CORS for the app only", () => {
    const buckets = ofType(r, T.bucket);
    assert.deepEqual(buckets.map((b) => b.name).sort(), ["assets", "backups"]);
    for (const b of buckets) {
      assert.equal(b.options.protect, true, `${b.name} protected`);
      const pab = inputsOf(r, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b.name);
      for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[k], true, `${b.name}.${k}`);
      const sse = inputsOf(r, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", b.name);
      assert.ok(JSON.stringify(sse.rules).includes("AES256"));
      assert.deepEqual(inputsOf(r, "aws:s3/bucketVersioning:BucketVersioning", b.name).versioningConfiguration, { status: "Enabled" });
    }
    const life = inputsOf(r, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups");
    assert.equal((life.rules as { expiration: { days: number } }[])[0].expiration.days, 30);
    const cors = inputsOf(r, "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "assets");
    assert.deepEqual((cors.corsRules as { allowedOrigins: string[] }[])[0].allowedOrigins, ["https://app.dairy-coop.example"]);
  });

  it("ECS services: rolling with circuit breaker, 100/200, exec off, public IP without NAT, after the migration", () => {
    for (const s of ofType(r, T.svc)) {
      const i = s.inputs;
      assert.deepEqual(i.deploymentCircuitBreaker, { enable: true, rollback: true }, s.name);
      assert.equal(i.deploymentMinimumHealthyPercent, 100);
      assert.equal(i.deploymentMaximumPercent, 200);
      assert.equal(i.enableExecuteCommand, false);
      assert.equal(i.launchType, "FARGATE");
      assert.equal((i.networkConfiguration as { assignPublicIp: boolean }).assignPublicIp, true);
    }
    assert.ok(one(r, T.svc, "backend").options.dependsOn?.includes("command:local:Command::run-migrate"));
    assert.ok(one(r, T.svc, "worker").options.dependsOn?.includes("command:local:Command::run-migrate"));
    assert.equal(
      one(r, "aws:ecs/cluster:Cluster").inputs.settings && (one(r, "aws:ecs/cluster:Cluster").inputs.settings as { value: string }[])[0].value,
      "disabled",
    );
    for (const td of ofType(r, T.td)) assert.equal((td.inputs.runtimePlatform as { cpuArchitecture: string }).cpuArchitecture, "ARM64");
    assert.equal(inputsOf(r, T.td, "backend").cpu, "512");
    assert.equal(inputsOf(r, T.td, "backend").memory, "1024");
  });

  it("30 days fit in RDS's own backups: no AWS Backup plan for the database at defaults (the uploads have theirs)", () => {
    assert.deepEqual(
      ofType(r, "aws:backup/plan:Plan").map((p) => p.name),
      ["uploads"],
    );
  });

  it("uploads: an AWS Backup plan backs up the assets bucket on backupSchedule, kept backupRetentionDays, in a protected vault locked for the retention; an alarm mails the operator when a day has no completed job", () => {
    const check = (plan: PlanResult, days: number, cron: string) => {
      const rule = (
        one(plan, "aws:backup/plan:Plan", "uploads").inputs.rules as { schedule: string; targetVaultName: string; lifecycle: { deleteAfter: number } }[]
      )[0];
      assert.equal(rule.schedule, cron, "from backupSchedule");
      assert.equal(rule.lifecycle.deleteAfter, days);
      const vault = one(plan, "aws:backup/vault:Vault", "uploads");
      assert.equal(vault.options.protect, true);
      assert.notEqual(vault.inputs.forceDestroy, true);
      assert.equal(rule.targetVaultName, vault.inputs.name);
      const lock = one(plan, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "uploads").inputs;
      assert.deepEqual(
        [lock.backupVaultName, lock.minRetentionDays, lock.changeableForDays],
        [vault.inputs.name, days, undefined],
        "governance lock, as long as the retention",
      );
      // The selection is exactly the assets bucket (versioned: AWS Backup for S3 needs it), through a role AWS Backup assumes.
      const sel = one(plan, "aws:backup/selection:Selection", "uploads").inputs;
      assert.deepEqual(sel.resources, ["arn:aws:mock:us-east-1:123456789012:assets"]);
      assert.equal(sel.iamRoleArn, "arn:aws:mock:us-east-1:123456789012:uploads-backup");
      assert.equal(
        inputsOf(plan, "aws:s3/bucketVersioning:BucketVersioning", "assets").versioningConfiguration &&
          (inputsOf(plan, "aws:s3/bucketVersioning:BucketVersioning", "assets").versioningConfiguration as { status: string }).status,
        "Enabled",
      );
      const attached = ofType(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        .filter((a) => a.inputs.role === "uploads-backup-id" || String(a.name).startsWith("uploads-backup"))
        .map((a) => a.inputs.policyArn)
        .sort();
      assert.deepEqual(attached, [
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
      ]);
      // Vault, plan and alarm live in the bucket's region (us-east-1), whatever the stack's region.
      for (const [type, name] of [
        ["aws:backup/vault:Vault", "uploads"],
        ["aws:backup/plan:Plan", "uploads"],
        ["aws:backup/selection:Selection", "uploads"],
        ["aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-backup-uploads-stale"],
      ])
        assert.equal(one(plan, type, name).options.provider, one(plan, "aws:s3/bucket:Bucket", "assets").options.provider, name);
      const alarm = one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-backup-uploads-stale").inputs;
      assert.deepEqual(
        [alarm.namespace, alarm.metricName, alarm.treatMissingData, alarm.period],
        ["AWS/Backup", "NumberOfBackupJobsCompleted", "breaching", 86400],
      );
      assert.deepEqual(alarm.dimensions, { ResourceType: "S3", BackupVaultName: vault.inputs.name });
      return alarm;
    };
    const alarm = check(r, 30, "cron(17 3 * * ? *)");
    assert.deepEqual(alarm.alarmActions, ["arn:aws:mock:us-east-1:123456789012:alerts"]);
    // The app's IAM user may not touch AWS Backup (its policy names the assets bucket's S3 actions only).
    const appPolicy = JSON.stringify(inputsOf(r, "aws:iam/userPolicy:UserPolicy", "assets").policy);
    assert.ok(!/backup:/.test(appPolicy), appPolicy);
    const other = mustPlan("aws", { backupRetentionDays: 90, backupSchedule: "5 1 * * *", awsRegion: "eu-west-1" });
    const alarm90 = check(other, 90, "cron(5 1 * * ? *)");
    // Outside us-east-1 the alarm goes to the operator-email topic in us-east-1.
    assert.deepEqual(alarm90.alarmActions, ["arn:aws:mock:us-east-1:123456789012:alerts-us-east-1"]);
  });

  it("log groups keep 30 days, the RDS PostgreSQL export included", () => {
    const groups = ofType(r, "aws:cloudwatch/logGroup:LogGroup");
    assert.ok(groups.length >= 3);
    const db = one(r, "aws:rds/instance:Instance");
    for (const exported of db.inputs.enabledCloudwatchLogsExports as string[]) {
      assert.ok(
        groups.some((g) => g.inputs.name === `/aws/rds/instance/${db.inputs.identifier}/${exported}`),
        `${exported} log group declared`,
      );
    }
    for (const g of groups) assert.equal(g.inputs.retentionInDays, 30, g.name);
  });

  it("migration: one-off run-task of the migrate definition, triggered by the backend revision, after db-setup, with no secret in the command", () => {
    const m = one(r, T.cmd, "run-migrate");
    const env = m.inputs.environment as Record<string, string>;
    assert.equal(env.TASK_DEFINITION, "arn:aws:mock:us-east-1:123456789012:migrate");
    assert.deepEqual(m.inputs.triggers, ["arn:aws:mock:us-east-1:123456789012:migrate", "arn:aws:mock:us-east-1:123456789012:backend"]);
    assert.deepEqual(m.options.dependsOn, ["command:local:Command::run-db-setup"]);
    assert.match(m.inputs.create as string, /aws ecs run-task/);
    const migrate = containers(one(r, T.td, "migrate"))[0];
    assert.deepEqual(
      migrate.secrets.map((s) => s.name),
      ["DATABASE_URL"],
    );
    assert.equal(env.ASSIGN_PUBLIC_IP, "ENABLED");
  });

  it("each execution role may read exactly its task's secret ARNs, and those are our secrets", () => {
    const secretArns = new Set(ofType(r, T.secret).map((s) => `arn:aws:mock:us-east-1:123456789012:${s.name}`));
    for (const td of ofType(r, T.td)) {
      const referenced = [
        ...new Set(containers(td).flatMap((c) => c.secrets.map((s) => s.valueFrom.replace(/(:secretsmanager:.*:secret:[^:]+):[^:]*:[^:]*:[^:]*$/, "$1")))),
      ].sort();
      const policy = JSON.parse(inputsOf(r, T.rolePolicy, `exec-${td.name}`).policy as string) as { Statement: { Action: string[]; Resource: string[] }[] };
      const readable = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith("secretsmanager:"))).flatMap((s) => s.Resource);
      assert.deepEqual([...readable].sort(), referenced, td.name);
      assert.equal(td.inputs.executionRoleArn, `arn:aws:mock:us-east-1:123456789012:exec-${td.name}`);
      for (const arn of referenced) if (!arn.includes(":secretsmanager:")) assert.ok(secretArns.has(arn), `${td.name} references unknown ${arn}`);
    }
    const backend = containers(one(r, T.td, "backend"))[0];
    assert.deepEqual(
      backend.secrets.map((s) => s.name).sort(),
      ["DATABASE_URL", "JWT_SECRET", "MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER", "REDIS_URL", "TTN_ENCRYPTION_SALT", ...Object.keys(USER_SECRET_ENV)].sort(),
    );
    assert.deepEqual(containers(one(r, T.td, "frontend"))[0].secrets, []);
    // db-setup reads the RDS-managed master secret (by JSON key) and the app password; nothing else.
    const setup = containers(one(r, T.td, "db-setup"))[0];
    assert.deepEqual(
      setup.secrets.map((s) => s.name),
      ["APP_DB_PASSWORD_SCRAM", "PGPASSWORD"],
    );
    assert.match(setup.secrets[1].valueFrom, /:secretsmanager:.*-master:password::$/);
  });

  it("secrets: one per value, recovery window, default KMS, value marked secret", () => {
    const secrets = ofType(r, T.secret);
    assert.equal(secrets.length, 7 + Object.keys(USER_SECRET_ENV).length);
    for (const s of secrets) {
      assert.ok((s.inputs.recoveryWindowInDays as number) >= 7, s.name);
      assert.equal(s.inputs.kmsKeyId, undefined);
    }
    for (const v of ofType(r, T.secretVersion))
      assert.ok(v.inputs.secretString && typeof v.inputs.secretString === "object" && "$secret" in (v.inputs.secretString as object), v.name);
    const dbUrl = (inputsOf(r, T.secretVersion, "secret-database-url").secretString as { $secret: string }).$secret;
    assert.equal(
      dbUrl,
      `postgresql://frostguard:${dummyPassword(LASTING_SECRET_NAMES.dbAppPassword)}@db.abc123.us-east-1.rds.amazonaws.com:5432/frostguard?sslmode=verify-full&sslrootcert=%2Ftmp%2Frds-ca.pem`,
    );
    // db-setup gets the verifier of the same password the URL carries, not the password.
    const scram = (inputsOf(r, T.secretVersion, "secret-app-db-password-scram").secretString as { $secret: string }).$secret;
    assert.equal(scram, scramSha256Verifier(dummyPassword(LASTING_SECRET_NAMES.dbAppPassword)));
    const redisUrl = (inputsOf(r, T.secretVersion, "secret-redis-url").secretString as { $secret: string }).$secret;
    assert.match(redisUrl, /^rediss:\/\/:RNDSECRETredispasswordX@/);
  });

  it("no secret value in any task environment or any other unmarked input, nor in the outputs", () => {
    const needles = [...Object.values(USER_SECRETS), ...Object.values(LASTING_SECRET_NAMES).map(dummyPassword), dummyPassword("assets-iam-secret")];
    const leaks: string[] = [];
    for (const res of r.resources) {
      for (const s of unmarkedStrings(res.inputs))
        for (const n of needles) if (s.value.includes(n)) leaks.push(`${res.type} ${res.name} ${s.path} contains ${n}`);
    }
    for (const s of unmarkedStrings(r.outputs)) for (const n of needles) if (s.value.includes(n)) leaks.push(`output ${s.path}`);
    assert.deepEqual(leaks, []);
    for (const td of ofType(r, T.td)) {
      for (const c of containers(td))
        for (const e of c.environment)
          assert.ok(
            !/PASSWORD|SECRET|_KEY$|DATABASE_URL|REDIS_URL|SALT|DSN/.test(e.name) || e.name === "STACK_AUTH_PUBLISHABLE_KEY" || e.name === "FT_ROTATION_DIGEST",
            `${td.name}: ${e.name} in environment`,
          );
    }
  });

  it("deployed container definitions are the model's: health checks, commands, stop grace, read-only root", () => {
    const model = appServices({ app: { ...APP_FIXTURE }, objectStoreEndpoint: "https://s3.us-east-1.amazonaws.com", assetsBucket: "x" });
    for (const name of ["backend", "worker", "frontend", "migrate"] as const) {
      const c = containers(one(r, T.td, name))[0] as Container & { command?: string[]; image: string };
      assert.deepEqual(c.healthCheck?.command, model[name].health?.test, `${name} health check`);
      assert.deepEqual(c.command, model[name].command, `${name} command`);
      assert.equal(c.stopTimeout, Math.min(model[name].stopGraceSeconds, 120));
      assert.equal(c.readonlyRootFilesystem, true);
    }
    assert.equal(containers(one(r, T.td, "migrate"))[0].healthCheck, undefined);
  });

  it("every app container runs as a non-root uid (only the volume-init helper is root, and it is not essential)", () => {
    for (const name of ["backend", "worker", "frontend", "migrate"] as const) {
      const app = containers(one(r, T.td, name)).find((c) => c.name === name) as (Container & { user?: string }) | undefined;
      assert.ok(app, `${name}: its container`);
      assert.match(String(app!.user), /^[1-9][0-9]*(:[0-9]+)?$/, `${name} runs as ${app!.user}`);
      for (const other of containers(one(r, T.td, name)).filter((c) => c.name !== name) as (Container & { user?: string; essential?: boolean })[])
        assert.equal(other.essential, false, `${name}: ${other.name} is a helper`);
    }
  });

  it("two runs give byte-identical container definitions", () => {
    // A redundant setting forces a second process with the same effective config.
    const again = mustPlan("aws", { awsRegion: "us-east-1" }, USER_SECRETS);
    for (const td of ofType(r, T.td)) assert.equal(inputsOf(again, T.td, td.name).containerDefinitions, td.inputs.containerDefinitions, td.name);
  });

  it("outputs: url, ALB address, database endpoint, DNS records to create", () => {
    assert.equal(r.outputs.url, "https://app.dairy-coop.example");
    assert.equal(r.outputs.hostAddress, "alb.us-east-1.elb.amazonaws.com");
    assert.match(r.outputs.databaseEndpoint as string, /:5432$/);
    const records = r.outputs.dnsRecords as { type: string; name: string; value: string }[];
    assert.deepEqual(
      records.map((x) => x.type),
      ["CNAME", "CNAME"],
    );
    assert.equal(records[1].name, "app.dairy-coop.example");
    assert.equal(records[1].value, "alb.us-east-1.elb.amazonaws.com");
  });
});

describe("stacks/aws: options", () => {
  let r: PlanResult;
  before(() => {
    r = mustPlan("aws", {
      awsNatGateway: true,
      awsRoute53ZoneId: "Z0123456789ABC",
      awsEcsExec: true,
      awsContainerInsights: true,
      awsRegion: "eu-west-1",
      awsArchitecture: "X86_64",
      backupRetentionDays: 90,
      awsDbEngineVersion: "17",
    });
  });

  it("external uptime check: Route 53 health check of https://<domain>/health/ready, alarmed in us-east-1 (where its metric is) to an operator-email topic there", () => {
    const hc = one(r, "aws:route53/healthCheck:HealthCheck").inputs;
    assert.deepEqual([hc.type, hc.fqdn, hc.port, hc.resourcePath, hc.enableSni], ["HTTPS", "app.dairy-coop.example", 443, "/health/ready", true]);
    const alarm = one(r, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-public-health-check");
    assert.deepEqual(
      [alarm.inputs.namespace, alarm.inputs.metricName, alarm.inputs.dimensions],
      ["AWS/Route53", "HealthCheckStatus", { HealthCheckId: "public-health-id" }],
    );
    assert.equal(alarm.inputs.treatMissingData, "breaching");
    // The stack is in eu-west-1: the alarm and its topic use the us-east-1 provider.
    assert.equal(alarm.options.provider, "pulumi:providers:aws::aws-assets");
    const topic = one(r, "aws:sns/topic:Topic", "alerts-us-east-1");
    assert.equal(topic.options.provider, "pulumi:providers:aws::aws-assets");
    assert.deepEqual(alarm.inputs.alarmActions, ["arn:aws:mock:us-east-1:123456789012:alerts-us-east-1"]);
    const sub = one(r, "aws:sns/topicSubscription:TopicSubscription", "alerts-us-east-1-email");
    assert.deepEqual([sub.inputs.protocol, sub.inputs.endpoint, sub.options.provider], ["email", "ops@dairy-coop.example", "pulumi:providers:aws::aws-assets"]);
  });

  it("sslmode: every connection to RDS is verify-full against the region's RDS root CAs, fetched once from AWS's bundle and written to the sslrootcert file before each command", () => {
    // The download: AWS's documented global bundle, over HTTPS, on the deploy machine; the plan keeps awsRegion's (eu-west-1) roots only.
    const fetch = one(r, T.cmd, "rds-ca-bundle").inputs;
    assert.deepEqual(fetch.environment, { RDS_CA_BUNDLE_URL: "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" });
    assert.match(fetch.create as string, /curl -fsS --proto "=https"/);
    const ca = regionalRdsCa(
      fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "lib", "fixtures", "mock-rds-global-bundle.pem"), "utf8"),
      "eu-west-1",
    );
    assert.equal((ca.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, "eu-west-1's two mock roots");
    assert.equal(one(r, "aws:rds/instance:Instance").inputs.caCertIdentifier, "rds-ca-rsa2048-g1");
    // DATABASE_URL (backend, worker, migrate): verify-full, the CA file the entry point writes.
    const url = new URL((one(r, T.secretVersion, "secret-database-url").inputs.secretString as { $secret: string }).$secret);
    assert.deepEqual([url.searchParams.get("sslmode"), url.searchParams.get("sslrootcert")], ["verify-full", "/tmp/rds-ca.pem"]);
    type Def = { name: string; entryPoint?: string[]; command?: string[]; environment: { name: string; value: string }[] };
    const defs = (td: string) => JSON.parse(inputsOf(r, T.td, td).containerDefinitions as string) as Def[];
    const env = (d: Def) => Object.fromEntries(d.environment.map((e) => [e.name, e.value]));
    for (const f of ["backend", "worker", "migrate"]) {
      const d = defs(f).find((x) => x.name === f)!;
      assert.equal(env(d).RDS_CA_BUNDLE, ca, f);
      // The entry point writes the file, then execs the contract's command unchanged.
      assert.deepEqual(d.entryPoint, ["sh", "-c", `printf '%s\\n' "$RDS_CA_BUNDLE" > /tmp/rds-ca.pem && exec "$0" "$@"`], f);
      assert.deepEqual(d.command, appServices({ app: APP_FIXTURE, objectStoreEndpoint: "", assetsBucket: "" })[f as "backend"].command, f);
    }
    assert.equal(defs("frontend").find((x) => x.name === "frontend")!.entryPoint, undefined, "the frontend never talks to RDS");
    // db-setup: psql with verify-full and the file it writes first.
    const setup = defs("db-setup").find((x) => x.name === "db-setup")!;
    assert.equal(env(setup).RDS_CA_BUNDLE, ca);
    assert.match(setup.command!.join(" "), /> \/tmp\/rds-ca\.pem && .*sslmode=verify-full sslrootcert=\/tmp\/rds-ca\.pem"/);
    // The scheduled dump: libpq's environment.
    const dump = (JSON.parse(inputsOf(r, T.td, "db-dump").containerDefinitions as string) as Def[]).find((x) => x.name === "dump")!;
    assert.deepEqual([env(dump).PGSSLMODE, env(dump).PGSSLROOTCERT, env(dump).RDS_CA_BUNDLE], ["verify-full", "/dump/rds-ca.pem", ca]);
    // Nothing anywhere asks for less.
    for (const td of ofType(r, T.td))
      assert.ok(!/sslmode=(no-verify|require|prefer)|"PGSSLMODE","value":"(require|prefer|no-verify)"/.test(td.inputs.containerDefinitions as string), td.name);
    const params = (one(r, "aws:rds/parameterGroup:ParameterGroup").inputs.parameters as { name: string; value: string }[]).find(
      (x) => x.name === "rds.force_ssl",
    );
    assert.equal(params?.value, "1");
  });

  it("natGateway: one NAT, private task subnets, no public IPs", () => {
    assert.equal(ofType(r, "aws:ec2/natGateway:NatGateway").length, 1);
    for (const s of ofType(r, T.svc)) {
      const n = s.inputs.networkConfiguration as { assignPublicIp: boolean; subnets: string[] };
      assert.equal(n.assignPublicIp, false);
      assert.deepEqual(n.subnets, ["private-0-id", "private-1-id"]);
    }
    assert.equal((one(r, T.cmd, "run-migrate").inputs.environment as Record<string, string>).ASSIGN_PUBLIC_IP, "DISABLED");
    assert.equal(one(r, T.alb).inputs.subnets && (one(r, T.alb).inputs.subnets as string[]).every((s) => s.startsWith("public-")), true);
  });

  it("route53ZoneId: validation record, certificate validation on it, alias to the ALB", () => {
    const records = ofType(r, "aws:route53/record:Record");
    assert.deepEqual(records.map((x) => x.name).sort(), ["app", "cert-validation"]);
    const alias = inputsOf(r, "aws:route53/record:Record", "app");
    assert.equal(alias.type, "A");
    assert.equal((alias.aliases as { name: string }[])[0].name, "alb.us-east-1.elb.amazonaws.com");
    assert.ok((one(r, "aws:acm/certificateValidation:CertificateValidation").inputs.validationRecordFqdns as string[]).length === 1);
  });

  it("ecsExec, container insights, architecture and region follow config; assets stay in us-east-1 for the app's S3 client", () => {
    for (const s of ofType(r, T.svc)) assert.equal(s.inputs.enableExecuteCommand, true);
    assert.ok(one(r, T.rolePolicy, "task-ecs-exec"));
    assert.equal((one(r, "aws:ecs/cluster:Cluster").inputs.settings as { value: string }[])[0].value, "enabled");
    for (const td of ofType(r, T.td)) assert.equal((td.inputs.runtimePlatform as { cpuArchitecture: string }).cpuArchitecture, "X86_64");
    const providers = Object.fromEntries(ofType(r, "pulumi:providers:aws").map((p) => [p.name, p.inputs.region]));
    assert.deepEqual(providers, { aws: "eu-west-1", "aws-assets": "us-east-1" });
    const env = containers(one(r, T.td, "backend"))[0].environment;
    assert.equal(env.find((e) => e.name === "MINIO_ENDPOINT")?.value, "https://s3.us-east-1.amazonaws.com");
  });

  it("RDS keeps at most 35 days itself; AWS Backup and the backups bucket keep backupRetentionDays", () => {
    assert.equal(one(r, "aws:rds/instance:Instance").inputs.backupRetentionPeriod, 35);
    const rule = (one(r, "aws:backup/plan:Plan", "db").inputs.rules as { schedule: string; lifecycle: { deleteAfter: number } }[])[0];
    assert.equal(rule.lifecycle.deleteAfter, 90);
    assert.equal(rule.schedule, "cron(17 3 * * ? *)", "from backupSchedule");
    assert.deepEqual(one(r, "aws:backup/selection:Selection", "db").inputs.resources, ["arn:aws:mock:us-east-1:123456789012:db"]);
    assert.equal(one(r, "aws:backup/vault:Vault", "db").options.protect, true);
    const life = inputsOf(r, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups");
    assert.equal((life.rules as { expiration: { days: number } }[])[0].expiration.days, 90);
    // Object Lock (governance) on the versioned backups bucket, as long as the retention: no version deleted earlier.
    const lock = inputsOf(r, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "backups");
    assert.deepEqual([lock.bucket, lock.objectLockEnabled, lock.rule], ["backups-id", "Enabled", { defaultRetention: { mode: "GOVERNANCE", days: 90 } }]);
    assert.deepEqual(
      ofType(r, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").map((x) => x.name),
      ["backups"],
      "the assets bucket is not locked",
    );
  });

  it("only operatorEmail set: every alarm notifies the SNS topic whose email subscription is operatorEmail; in us-east-1 one topic serves the health check too", () => {
    const plain = mustPlan("aws");
    const subs = ofType(plain, "aws:sns/topicSubscription:TopicSubscription");
    assert.deepEqual(
      subs.map((x) => [x.name, x.inputs.protocol, x.inputs.endpoint, x.inputs.topic]),
      [["alerts-email", "email", "ops@dairy-coop.example", "arn:aws:mock:us-east-1:123456789012:alerts"]],
    );
    const alarms = ofType(plain, "aws:cloudwatch/metricAlarm:MetricAlarm");
    assert.ok(alarms.some((a) => a.name === "alarm-public-health-check"));
    for (const a of alarms) assert.deepEqual(a.inputs.alarmActions, ["arn:aws:mock:us-east-1:123456789012:alerts"], a.name);
  });

  it("logical dumps: a scheduled db-dump task (backupSchedule, UTC) dumps, restore-checks and uploads SSE-KMS to the backups bucket; a freshness alarm mails the operator", () => {
    const sched = one(r, "aws:scheduler/schedule:Schedule", "db-dump").inputs as {
      scheduleExpression: string;
      scheduleExpressionTimezone: string;
      target: { arn: string; ecsParameters: { taskDefinitionArn: string; launchType: string } };
    };
    assert.equal(sched.scheduleExpression, "cron(17 3 * * ? *)");
    assert.equal(sched.scheduleExpressionTimezone, "UTC");
    assert.equal(sched.target.ecsParameters.taskDefinitionArn, "arn:aws:mock:us-east-1:123456789012:db-dump");
    assert.equal(sched.target.ecsParameters.launchType, "FARGATE");
    const defs = JSON.parse(one(r, T.td, "db-dump").inputs.containerDefinitions as string) as {
      name: string;
      image: string;
      command: string[];
      environment: { name: string; value: string }[];
      secrets: { name: string; valueFrom: string }[];
      dependsOn?: unknown[];
      user?: string;
      essential?: boolean;
      mountPoints: { sourceVolume: string; containerPath: string }[];
    }[];
    const [volumes, dump, upload] = defs;
    assert.deepEqual(
      defs.map((d) => d.name),
      ["volumes", "dump", "upload"],
    );
    // Fargate creates the scratch volume root-owned 0755: a root helper (no secret, no environment)
    // makes it writable before the dump (uid 70) starts.
    assert.deepEqual([volumes.user, volumes.essential, volumes.command], ["0", false, ["chmod 1777 /dump"]]);
    assert.deepEqual([volumes.secrets, volumes.environment], [[], []]);
    assert.deepEqual(
      volumes.mountPoints.map((m) => m.containerPath),
      ["/dump"],
    );
    assert.deepEqual(dump.dependsOn, [{ containerName: "volumes", condition: "SUCCESS" }]);
    assert.equal(dump.user, "70");
    assert.match(dump.image, /^postgres:17\./, "pg_dump follows awsDbEngineVersion 17");
    assert.match(dump.command[0], /pg_dump --format=custom/);
    assert.match(dump.command[0], /pg_restore --exit-on-error/);
    assert.deepEqual(
      dump.secrets.map((x) => x.name),
      ["PGPASSWORD"],
    );
    assert.deepEqual(upload.dependsOn, [{ containerName: "dump", condition: "SUCCESS" }]);
    assert.match(upload.command[0], /--s3-server-side-encryption aws:kms/);
    assert.match(upload.command[0], /\/postgres\/\$name/);
    const env = Object.fromEntries(upload.environment.map((e) => [e.name, e.value]));
    assert.equal(env.SSE_KMS_ARN, "arn:aws:mock:us-east-1:123456789012:backups");
    assert.match(env.BUCKET, /backups-123456789012$/);
    // The task role may only put dumps, under postgres/, with the backups key: no read, no delete.
    const policy = JSON.parse(inputsOf(r, T.rolePolicy, "db-dump-task").policy as string) as { Statement: { Action: string[]; Resource: string[] }[] };
    assert.deepEqual(policy.Statement.flatMap((s) => s.Action).sort(), ["kms:Encrypt", "kms:GenerateDataKey", "s3:PutObject"]);
    assert.deepEqual(policy.Statement[0].Resource, ["arn:aws:mock:us-east-1:123456789012:backups/postgres/*"]);
    assert.equal(one(r, "aws:kms/key:Key", "backups").options.protect, true);
    // Kept backupRetentionDays by the bucket's lifecycle.
    assert.equal(
      (inputsOf(r, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups").rules as { expiration: { days: number } }[])[0].expiration
        .days,
      90,
    );
    // Freshness: the upload marker counted per stack; no upload in a day (missing data included) alarms to the SNS topic.
    const filter = one(r, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "db-dump-uploaded").inputs as {
      pattern: string;
      metricTransformation: { namespace: string; name: string };
    };
    assert.equal(filter.pattern, '"FRESHTRACK_BACKUP_UPLOADED"');
    const alarm = one(r, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-backup-dump-stale").inputs;
    assert.deepEqual(
      [alarm.namespace, alarm.metricName, alarm.period, alarm.treatMissingData, alarm.comparisonOperator],
      [filter.metricTransformation.namespace, filter.metricTransformation.name, 86400, "breaching", "LessThanThreshold"],
    );
    assert.deepEqual(alarm.alarmActions, ["arn:aws:mock:us-east-1:123456789012:alerts"]);
  });

  it("without user secrets, no empty secrets are created and tasks reference none of them", () => {
    const plain = mustPlan("aws");
    assert.deepEqual(
      ofType(plain, T.secret)
        .map((s) => s.name)
        .sort(),
      [
        "secret-app-db-password-scram",
        "secret-database-url",
        "secret-jwt-secret",
        "secret-minio-root-password",
        "secret-minio-root-user",
        "secret-redis-url",
        "secret-ttn-encryption-salt",
      ],
    );
    assert.equal(containers(one(plain, T.td, "backend"))[0].secrets.length, 6);
  });
});
