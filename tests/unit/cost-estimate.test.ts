// The pure pricing function against FIXED price tables (round numbers, not the
// real prices.json), so a price update never breaks these and a logic change always does.
import { strict as assert } from "assert";
import { CostResource, estimate, formatEstimate, PriceTable } from "../../scripts/lib/cost";
import { loadPrices, renderCostTable } from "../../scripts/cost";

const TABLE: PriceTable = {
  hoursPerMonth: 100,
  groups: {
    "aws.fargate": { unit: "USD/h", source: "fixture", date: "2000-01-01", values: { "ARM64.vcpu": 1, "ARM64.gb": 0.1, "X86_64.vcpu": 2, "X86_64.gb": 0.2 } },
    "aws.rds.postgres": { unit: "USD/h", source: "fixture", date: "2000-01-01", values: { "db.t4g.micro": 0.5 } },
    "aws.rds.storage": { unit: "USD/GB-month", source: "fixture", date: "2000-01-01", values: { gp3: 0.1 } },
    "aws.elasticache": { unit: "USD/h", source: "fixture", date: "2000-01-01", values: { "valkey:cache.t4g.micro": 0.25 } },
    "aws.alb": { unit: "USD/h", source: "fixture", date: "2000-01-01", values: { hour: 0.2, lcuHour: 0.05 } },
    "aws.publicIpv4": { unit: "USD/h", source: "fixture", date: "2000-01-01", values: { hour: 0.01 } },
    "aws.natGateway": { unit: "USD/h", source: "fixture", date: "2000-01-01", values: { hour: 0.3 } },
    "aws.secretsManager": { unit: "USD/month", source: "fixture", date: "2000-01-01", values: { secret: 1 } },
    "aws.cloudwatchAlarm": { unit: "USD/month", source: "fixture", date: "2000-01-01", values: { metric: 0.5 } },
    "do.droplet": { unit: "USD/month", source: "fixture-do", date: "2000-02-02", values: { "s-2vcpu-4gb": 20 } },
    "do.dropletBackups": { unit: "share", source: "fixture-do", date: "2000-02-02", values: { weekly: 0.5, daily: 1 } },
    "do.database": { unit: "USD/month", source: "fixture-do", date: "2000-02-02", values: { "db-s-1vcpu-1gb": 10 } },
    "do.spaces": { unit: "USD/month", source: "fixture-do", date: "2000-02-02", values: { subscription: 7 } },
  },
  assumptions: { albLcu: { value: 2, why: "fixture" } },
  usage: { "aws:s3/bucket:Bucket": "storage" },
  free: { "aws:ec2/vpc:Vpc": "free", "random:*": "local", "command:remote:*": "ssh" },
};

const r = (type: string, name: string, inputs: Record<string, unknown> = {}): CostResource => ({ type, name, inputs });
const line = (rs: CostResource[], name: string) => {
  const l = estimate(rs, TABLE).lines.find((x) => x.name === name);
  assert.ok(l, name);
  return l;
};

describe("cost estimate (fixed price tables)", () => {
  it("Fargate service: task size from its task definition, count, architecture, public IPv4 per task", () => {
    const rs = [
      r("aws:ecs/taskDefinition:TaskDefinition", "backend", { cpu: "512", memory: "1024", runtimePlatform: { cpuArchitecture: "ARM64" } }),
      r("aws:ecs/service:Service", "svc", {
        taskDefinition: "arn:aws:mock:us-east-1:123456789012:backend",
        desiredCount: 2,
        networkConfiguration: { assignPublicIp: true },
      }),
    ];
    // 2 × (0.5 × 1 + 1 × 0.1) × 100 h = 120, + 2 × 0.01 × 100 = 2
    assert.equal(line(rs, "svc").monthlyUsd, 122);
    assert.equal(line(rs, "backend").category, "not-priced"); // task definitions are not in this table's free list
  });

  it("x86 tasks and private tasks", () => {
    const rs = [
      r("aws:ecs/taskDefinition:TaskDefinition", "w", { cpu: 1024, memory: 2048, runtimePlatform: { cpuArchitecture: "X86_64" } }),
      r("aws:ecs/service:Service", "svc", { taskDefinition: "arn:x:w", networkConfiguration: { assignPublicIp: false } }),
    ];
    assert.equal(line(rs, "svc").monthlyUsd, 240); // (1 vCPU × 2 + 2 GB × 0.2) × 100 h
  });

  it("a service whose task definition is not declared is not priced, with the reason", () => {
    const l = line([r("aws:ecs/service:Service", "svc", { taskDefinition: "arn:x:elsewhere" })], "svc");
    assert.equal(l.category, "not-priced");
    assert.match(l.basis, /task definition arn:x:elsewhere not found/);
  });

  it("RDS: instance hours + storage, doubled for Multi-AZ; unknown class is not priced", () => {
    assert.equal(
      line([r("aws:rds/instance:Instance", "db", { engine: "postgres", instanceClass: "db.t4g.micro", allocatedStorage: 20 })], "db").monthlyUsd,
      52,
    );
    assert.equal(
      line([r("aws:rds/instance:Instance", "db", { engine: "postgres", instanceClass: "db.t4g.micro", allocatedStorage: 20, multiAz: true })], "db").monthlyUsd,
      104,
    );
    // manageMasterUserPassword: RDS creates a Secrets Manager secret of its own (1 secret-month).
    assert.equal(
      line(
        [r("aws:rds/instance:Instance", "db", { engine: "postgres", instanceClass: "db.t4g.micro", allocatedStorage: 20, manageMasterUserPassword: true })],
        "db",
      ).monthlyUsd,
      53,
    );
    const big = line([r("aws:rds/instance:Instance", "db", { engine: "postgres", instanceClass: "db.x2g.16xlarge", allocatedStorage: 20 })], "db");
    assert.equal(big.category, "not-priced");
    assert.match(big.basis, /no price for db\.x2g\.16xlarge in aws\.rds\.postgres/);
  });

  it("ElastiCache replication group: nodes × node price by engine", () => {
    assert.equal(
      line([r("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { engine: "valkey", nodeType: "cache.t4g.micro", numCacheClusters: 2 })], "redis")
        .monthlyUsd,
      50,
    );
  });

  it("ALB: hours + assumed LCUs + one public IPv4 per subnet when internet-facing", () => {
    assert.equal(line([r("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application", subnets: ["a", "b", "c"] })], "alb").monthlyUsd, 33); // (0.2 + 2 × 0.05) × 100 + 3 × 0.01 × 100
    assert.equal(line([r("aws:lb/loadBalancer:LoadBalancer", "alb", { internal: true, subnets: ["a", "b"] })], "alb").monthlyUsd, 30);
  });

  it("flat monthly items: secrets (secret inputs unwrapped elsewhere), alarms by metric count, NAT gateway", () => {
    const rs = [
      r("aws:secretsmanager/secret:Secret", "s1"),
      r("aws:cloudwatch/metricAlarm:MetricAlarm", "a1"),
      r("aws:cloudwatch/metricAlarm:MetricAlarm", "a2", {
        metricQueries: [
          { id: "m1", metric: {} },
          { id: "m2", metric: {} },
          { id: "e", expression: "m1+m2" },
        ],
      }),
      r("aws:ec2/natGateway:NatGateway", "nat"),
    ];
    const e = estimate(rs, TABLE);
    assert.deepEqual(
      e.lines.map((l) => l.monthlyUsd),
      [1, 0.5, 1, 30],
    );
    assert.equal(e.totalUsd, 32.5);
  });

  it("DigitalOcean: droplet + backups share, database × nodes, one Spaces subscription for all buckets", () => {
    const rs = [
      r("digitalocean:index/droplet:Droplet", "d", { size: "s-2vcpu-4gb", backups: true, backupPolicy: { plan: "daily" } }),
      r("digitalocean:index/droplet:Droplet", "d2", { size: "s-2vcpu-4gb", backups: false }),
      r("digitalocean:index/databaseCluster:DatabaseCluster", "db", { engine: "pg", size: "db-s-1vcpu-1gb", nodeCount: 2 }),
      r("digitalocean:index/spacesBucket:SpacesBucket", "assets"),
      r("digitalocean:index/spacesBucket:SpacesBucket", "backups"),
    ];
    const e = estimate(rs, TABLE);
    assert.deepEqual(
      e.lines.map((l) => [l.name, l.monthlyUsd]),
      [
        ["d", 40],
        ["d2", 20],
        ["db", 20],
        ["assets", 7],
        ["backups", 0],
      ],
    );
    assert.equal(e.totalUsd, 87);
    assert.deepEqual(Object.keys(e.sources), ["do.database", "do.droplet", "do.dropletBackups", "do.spaces"]);
    assert.equal(e.sources["do.droplet"].date, "2000-02-02");
  });

  it("free (exact and package-wide), usage and unknown types each land in their category; nothing is dropped", () => {
    const rs = [
      r("aws:ec2/vpc:Vpc", "vpc"),
      r("random:index/randomPassword:RandomPassword", "pw"),
      r("command:remote:Command", "deploy"),
      r("aws:s3/bucket:Bucket", "b"),
      r("aws:dynamodb/table:Table", "t"),
      r("command:local:Command", "x"),
    ];
    const e = estimate(rs, TABLE);
    assert.deepEqual(
      e.lines.map((l) => [l.name, l.category]),
      [
        ["vpc", "free"],
        ["pw", "free"],
        ["deploy", "free"],
        ["b", "usage"],
        ["t", "not-priced"],
        ["x", "not-priced"],
      ],
    );
    assert.deepEqual(
      e.notPriced.map((l) => l.type),
      ["aws:dynamodb/table:Table", "command:local:Command"],
    );
    assert.equal(e.totalUsd, 0);
    const text = formatEstimate("s", e);
    assert.match(text, /NOT PRICED[\s\S]*aws:dynamodb\/table:Table {2}t/);
    assert.match(text, /Total: \$0\.00 per month \+ 2 resource\(s\) not priced/);
  });

  it("is pure: same input, same output", () => {
    const rs = [r("digitalocean:index/spacesBucket:SpacesBucket", "a"), r("digitalocean:index/spacesBucket:SpacesBucket", "b")];
    assert.deepEqual(estimate(rs, TABLE), estimate(rs, TABLE));
  });

  it("the README table shows each target's total, its largest items and not-priced counts", () => {
    const e = (rs: CostResource[]) => estimate(rs, TABLE);
    const md = renderCostTable(
      {
        vm: e([r("command:remote:Command", "deploy")]),
        digitalocean: e([r("digitalocean:index/droplet:Droplet", "d", { size: "s-2vcpu-4gb" }), r("digitalocean:index/spacesBucket:SpacesBucket", "s")]),
        aws: e([r("aws:secretsmanager/secret:Secret", "s"), r("aws:dynamodb/table:Table", "t")]),
      },
      TABLE,
    );
    const rows = md.split("\n");
    assert.equal(rows[0], "| | `vm` | `digitalocean` | `aws` |");
    assert.equal(rows[2], "| monthly cost, default sizes | **$0.00** + the customer's host | **$27.00** | **$1.00** + 1 not priced |");
    assert.match(rows[3], /\| droplet \+ backups \$20\.00, Spaces \$7\.00 \|/);
    assert.match(md, /recorded 2000-01-01, 2000-02-02/);
  });
});

describe("scripts/lib/prices.json", () => {
  const prices = loadPrices();
  it("every price group names its source, date and unit, and holds positive numbers", () => {
    for (const [name, g] of Object.entries(prices.groups)) {
      assert.match(g.source, /^https:\/\//, name);
      assert.match(g.date, /^\d{4}-\d{2}-\d{2}$/, name);
      assert.ok(g.unit.length > 3, name);
      for (const [k, v] of Object.entries(g.values)) assert.ok(typeof v === "number" && v > 0, `${name}.${k}`);
    }
  });
  it("no type is both free and usage-based", () => {
    assert.deepEqual(
      Object.keys(prices.usage).filter((t) => t in prices.free),
      [],
    );
  });
});
