// Monthly cost estimate: `npm run cost -- --stack NAME [--json]`, and the README
// targets table: `npm run cost -- --readme-table` (markdown on stdout; commit it as docs/cost-table.md).
// Runs the real program under mocks like the offline plan (one stack per process),
// prices every declared resource from scripts/lib/prices.json, lists what has no price.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CostLine, estimate, Estimate, formatEstimate, PriceTable } from "./lib/cost";
import { runProgram } from "./lib/program";

export const PRICES_FILE = path.join(__dirname, "lib", "prices.json");

export function loadPrices(file = PRICES_FILE): PriceTable {
  return JSON.parse(fs.readFileSync(file, "utf8")) as PriceTable;
}

/** The example stack of each target, in README column order. */
export const TARGET_STACKS = [
  { target: "vm", stack: "vm" },
  { target: "digitalocean", stack: "do" },
  { target: "aws", stack: "aws" },
] as const;

/** What the numbers cannot say: who runs the data and how much of it a bad day costs. Reviewed with docs/design.md and the target READMEs. */
const FACTS: Record<string, { runs: string; rpo: string; rto: string; choose: string; cost: string; plus?: string }> = {
  vm: {
    runs: "we do: PostgreSQL, Valkey and object storage run as containers on the customer's host",
    rpo: "≤ 24 h: the daily encrypted pg_dump (`backupSchedule`) and uploads, sent to an S3-compatible bucket off the host you name (`vmBackupRemote*`; on-host only if you say so with `vmBackupOnHostOnly`)",
    rto: "hours: a new host, `pulumi up`, then `bin/restore` of the last dump",
    choose: "the customer must keep data on its own machine, or already runs one",
    cost: "nothing beyond the customer's host: every resource we declare is an SSH command",
    plus: "the customer's host",
  },
  digitalocean: {
    runs: "DigitalOcean runs PostgreSQL (managed, daily backups + 7-day PITR); Valkey runs on the droplet",
    rpo: "≈ minutes: managed point-in-time recovery (7 days), plus daily dumps to Spaces for `backupRetentionDays`",
    rto: "≈ 1 h: restore/fork the cluster to a point in time, point the stack at it, `pulumi up`",
    choose: "most customers: managed database, simple, the cheapest managed option",
    cost: "",
  },
  aws: {
    runs: "AWS runs everything: RDS PostgreSQL, ElastiCache (Valkey), S3, Fargate tasks behind an ALB",
    rpo: "≈ 5 min: RDS point-in-time recovery within `backupRetentionDays`",
    rto: "≈ 1 h: RDS point-in-time restore to a new instance; tasks replace themselves in minutes",
    choose: "the customer requires AWS or its compliance tooling",
    cost: "",
  },
};

const money = (x: number) => `$${x.toFixed(2)}`;

/** Readable names for the table's "made of" row. */
const LABELS: Record<string, string> = {
  "aws:ecs/service:Service": "Fargate tasks",
  "aws:lb/loadBalancer:LoadBalancer": "ALB",
  "aws:rds/instance:Instance": "RDS",
  "aws:elasticache/replicationGroup:ReplicationGroup": "ElastiCache",
  "aws:ec2/natGateway:NatGateway": "NAT gateway",
  "aws:secretsmanager/secret:Secret": "Secrets Manager",
  "aws:cloudwatch/metricAlarm:MetricAlarm": "alarms",
  "digitalocean:index/droplet:Droplet": "droplet + backups",
  "digitalocean:index/databaseCluster:DatabaseCluster": "managed PostgreSQL",
  "digitalocean:index/spacesBucket:SpacesBucket": "Spaces",
};

/** The largest priced items, summed by type: "Droplet $28.80, DatabaseCluster $15.00". */
function largest(lines: CostLine[], n = 4): string {
  const byType = new Map<string, number>();
  for (const l of lines.filter((x) => x.category === "priced")) byType.set(l.type, (byType.get(l.type) ?? 0) + l.monthlyUsd);
  const parts = [...byType.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([t, v]) => `${LABELS[t] ?? t.split(":").pop()} ${money(v)}`);
  return parts.join(", ");
}

/** The README targets table from one estimate per target. Pure. */
export function renderCostTable(estimates: Record<string, Estimate>, prices: PriceTable): string {
  const targets = TARGET_STACKS.map((t) => t.target);
  const dates = [...new Set(Object.values(prices.groups).map((g) => g.date))].sort();
  const row = (label: string, cell: (t: string) => string) => `| ${label} | ${targets.map(cell).join(" | ")} |`;
  const lines = [
    `| | ${targets.map((t) => `\`${t}\``).join(" | ")} |`,
    `|---|${targets.map(() => "---").join("|")}|`,
    row("monthly cost, default sizes", (t) => {
      const e = estimates[t];
      const extra = e.notPriced.length ? ` + ${e.notPriced.length} not priced` : "";
      return `**${money(e.totalUsd)}**${FACTS[t].plus ? ` + ${FACTS[t].plus}` : ""}${extra}`;
    }),
    row("made of", (t) => FACTS[t].cost || largest(estimates[t].lines) || "—"),
    row("who runs the data", (t) => FACTS[t].runs),
    row("RPO (data a disaster can lose)", (t) => FACTS[t].rpo),
    row("RTO (time to be back)", (t) => FACTS[t].rto),
    row("choose it when", (t) => FACTS[t].choose),
  ];
  return [
    ...lines,
    "",
    `Generated by \`npm run cost -- --readme-table\` from the example stacks (${TARGET_STACKS.map((t) => `\`Pulumi.${t.stack}.yaml\``).join(", ")}) and \`scripts/lib/prices.json\` (AWS us-east-1 and DigitalOcean list prices recorded ${dates.join(", ")}). Usage-based charges (traffic, storage growth, logs, NAT data) are not included; \`npm run cost -- --stack NAME\` lists every resource.`,
    "",
  ].join("\n");
}

function usage(problem?: string): never {
  const text =
    "usage: npm run cost -- --stack NAME [--json] | --readme-table\n  Monthly estimate of everything the stack declares, from scripts/lib/prices.json.";
  if (problem) {
    console.error(`cost: ${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

/** Estimate of one stack in a child process (mocks are one per process). */
export function estimateInChild(stack: string): Estimate & { stack: string } {
  const p = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, "--stack", stack, "--json"], {
    cwd: path.resolve(__dirname, ".."),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
  });
  if (p.status !== 0) throw new Error(`cost --stack ${stack} failed (${p.status}):\n${p.stderr}`);
  // The program may log to stdout under mocks: the JSON is the last line.
  const last = p.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as Estimate & { stack: string };
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) usage();
  if (argv.includes("--readme-table")) {
    const estimates: Record<string, Estimate> = {};
    for (const t of TARGET_STACKS) estimates[t.target] = estimateInChild(t.stack);
    process.stdout.write(renderCostTable(estimates, loadPrices()));
    return;
  }
  const i = argv.indexOf("--stack");
  const stack = i >= 0 ? argv[i + 1] : undefined;
  if (!stack) usage("--stack is required");
  const unknown = argv.filter((a, j) => a.startsWith("-") && !["--stack", "--json"].includes(a) && argv[j - 1] !== "--stack");
  if (unknown.length) usage(`unknown argument ${unknown[0]}`);
  let resources;
  try {
    resources = (await runProgram({ stack })).resources;
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
  const e = estimate(resources, loadPrices());
  if (argv.includes("--json")) console.log(JSON.stringify({ stack, ...e }));
  else console.log(formatEstimate(stack, e));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
