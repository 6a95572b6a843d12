// The pure parts of the AWS target's task definitions (task-specs.ts) and DNS
// outputs (dns-records.ts), on plain strings: what each family may read, when
// the tasks roll, and what the operator is told to create.
import { strict as assert } from "assert";
import { AwsSettings } from "../../core/config";
import { TEST_APP } from "../fixtures/config";
import { APP_SECRET_ENV } from "../../core/model";
import { MASTER_USERNAME } from "../../components/aws/constants";
import { ContainerDefinition } from "../../components/aws/container-definitions";
import { dnsRecordOutputs, validationRecord } from "../../components/aws/dns-records";
import { PolicyDocument, readableSecretArns, secretArnOf } from "../../components/aws/iam-policies";
import { FAMILIES, FamilyTaskInput, familyTasks, taskSizes } from "../../components/aws/task-specs";

const APP = TEST_APP;

const SIZES = taskSizes({
  backend: { cpu: 512, memory: 1024, count: 1 },
  worker: { cpu: 256, memory: 512 },
  frontend: { cpu: 256, memory: 512 },
} as AwsSettings);
const arn = (n: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:freshtrack/test/${n}-AbCdEf`;
const MASTER = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-XyZ";
const REGISTRY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:freshtrack/test/registry-credentials-QwErTy";
const RDS_CA = "-----BEGIN CERTIFICATE-----\nMOCKRDSROOT\n-----END CERTIFICATE-----\n";

function input(extra: Partial<FamilyTaskInput> = {}): FamilyTaskInput {
  return {
    stack: "test",
    region: "eu-west-1",
    sizes: SIZES,
    assetsBucket: "ft-test-assets-123456789012",
    secretArns: Object.fromEntries([...APP_SECRET_ENV, "APP_DB_PASSWORD_SCRAM"].map((n) => [n, arn(n)])),
    masterSecretArn: MASTER,
    dbHost: "ft-test-db.abc.eu-west-1.rds.amazonaws.com",
    rdsCa: RDS_CA,
    secretVersionIds: ["v1", "v2"],
    logGroupArns: Object.fromEntries(
      FAMILIES.map((f) => [f, `arn:aws:logs:eu-west-1:123456789012:log-group:/freshtrack/test/${f}`]),
    ) as FamilyTaskInput["logGroupArns"],
    app: APP,
    ...extra,
  };
}

const containersOf = (json: string) => JSON.parse(json) as ContainerDefinition[];
const envOf = (c: ContainerDefinition) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));

describe("aws task specs: per family, plain strings in", () => {
  it("each family's execution role reads exactly the secrets its containers reference", () => {
    const tasks = familyTasks(input({ registry: { server: "ghcr.io", secretArn: REGISTRY } }));
    for (const f of FAMILIES) {
      const referenced = containersOf(tasks[f].containers).flatMap((c) => [
        ...c.secrets.map((s) => secretArnOf(s.valueFrom)),
        ...(c.repositoryCredentials ? [c.repositoryCredentials.credentialsParameter] : []),
      ]);
      assert.deepEqual(readableSecretArns(JSON.parse(tasks[f].policy) as PolicyDocument), [...new Set(referenced)].sort(), f);
      // The app images come from the private registry; db-setup runs the public postgres image.
      assert.equal(referenced.includes(REGISTRY), f !== "db-setup", `${f}: registry login`);
    }
  });

  it("only db-setup reads the RDS master secret, and logs in as the master user to the stack's database host", () => {
    const tasks = familyTasks(input());
    for (const f of FAMILIES) {
      const readsMaster = readableSecretArns(JSON.parse(tasks[f].policy) as PolicyDocument).includes(MASTER);
      assert.equal(readsMaster, f === "db-setup", f);
    }
    const [setup] = containersOf(tasks["db-setup"].containers).filter((c) => c.name === "db-setup");
    assert.equal(envOf(setup).PGUSER, MASTER_USERNAME);
    assert.equal(envOf(setup).PGHOST, "ft-test-db.abc.eu-west-1.rds.amazonaws.com");
    assert.deepEqual(
      setup.secrets.find((s) => s.name === "PGPASSWORD"),
      { name: "PGPASSWORD", valueFrom: `${MASTER}:password::` },
    );
  });

  it("a new secret version changes the backend's and worker's task definitions only (ECS rolls them onto the new value)", () => {
    const before = familyTasks(input());
    const after = familyTasks(input({ secretVersionIds: ["v1", "v3"] }));
    for (const f of FAMILIES) {
      const changed = before[f].containers !== after[f].containers;
      assert.equal(changed, f === "backend" || f === "worker", f);
    }
    const digest = (t: ReturnType<typeof familyTasks>) => envOf(containersOf(t.backend.containers).find((c) => c.name === "backend")!).FT_ROTATION_DIGEST;
    assert.match(digest(before), /^[0-9a-f]{16}$/);
    assert.notEqual(digest(before), digest(after));
    assert.ok(!before.backend.containers.includes("v1"), "version ids are hashed, not shipped");
  });

  it("every family that connects to RDS gets the region's root CAs (verify-full); the CA entry point wraps the app's command", () => {
    const tasks = familyTasks(input());
    for (const f of FAMILIES) {
      const [c] = containersOf(tasks[f].containers).filter((x) => x.name === f);
      assert.equal(envOf(c).RDS_CA_BUNDLE, f === "frontend" ? undefined : RDS_CA, f);
      // db-setup's own command writes the file; the app images keep their command behind the entry point.
      const wrapped = f === "backend" || f === "worker" || f === "migrate";
      assert.equal(c.entryPoint?.join(" ").includes("> /tmp/rds-ca.pem && exec"), wrapped ? true : undefined, f);
    }
  });

  it("without a registry login no family references one; migrate is sized like the backend", () => {
    const tasks = familyTasks(input());
    for (const f of FAMILIES)
      assert.ok(
        containersOf(tasks[f].containers).every((c) => !c.repositoryCredentials),
        f,
      );
    assert.deepEqual(SIZES.migrate, SIZES.backend);
  });
});

describe("aws dns records: what the operator creates", () => {
  const options = [
    {
      domainName: "www.app.example.test",
      resourceRecordName: "_w.www.app.example.test.",
      resourceRecordType: "CNAME",
      resourceRecordValue: "_w.acm-validations.aws.",
    },
    { domainName: "app.example.test", resourceRecordName: "_a.app.example.test.", resourceRecordType: "CNAME", resourceRecordValue: "_a.acm-validations.aws." },
  ];

  it("the validation record is the one for the app's domain (the first one otherwise)", () => {
    assert.deepEqual(validationRecord(options, "app.example.test"), { name: "_a.app.example.test.", type: "CNAME", value: "_a.acm-validations.aws." });
    assert.equal(validationRecord(options, "other.example.test").name, "_w.www.app.example.test.");
  });

  it("says whether each record was created in Route 53 or is the operator's to create", () => {
    const v = validationRecord(options, "app.example.test");
    const withZone = dnsRecordOutputs(v, "alb-1.eu-west-1.elb.amazonaws.com", "app.example.test", true);
    const without = dnsRecordOutputs(v, "alb-1.eu-west-1.elb.amazonaws.com", "app.example.test", false);
    assert.deepEqual(
      without.map((r) => [r.type, r.name, r.value]),
      [
        ["CNAME", "_a.app.example.test.", "_a.acm-validations.aws."],
        ["CNAME", "app.example.test", "alb-1.eu-west-1.elb.amazonaws.com"],
      ],
    );
    assert.ok(withZone.every((r) => /created in Route 53/.test(r.purpose)));
    assert.ok(without.every((r) => !/created in Route 53/.test(r.purpose)));
    assert.match(without[0].purpose, /keep it/);
  });
});
