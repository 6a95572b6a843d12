// Pure monthly cost estimate of declared resources from a price table
// (scripts/lib/prices.json in use; tests pass fixed tables). Every resource
// ends up in exactly one category: priced, usage (cost depends on traffic or
// storage we cannot know), free (listed in the table, with the reason), or
// not priced (no price and no known zero: shown, never dropped).

export interface PriceGroup {
  unit: string;
  source: string;
  date: string;
  verified?: string;
  values: Record<string, number>;
}

export interface PriceTable {
  hoursPerMonth: number;
  groups: Record<string, PriceGroup>;
  assumptions?: Record<string, { value: number; why: string }>;
  /** type -> what the usage-based cost is made of. */
  usage: Record<string, string>;
  /** type (or `package:*`, `package:module:*`) -> why it costs nothing. */
  free: Record<string, string>;
}

export interface CostResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export type Category = "priced" | "usage" | "free" | "not-priced";

export interface CostLine {
  type: string;
  name: string;
  category: Category;
  monthlyUsd: number;
  /** How the number was made, or why there is none. */
  basis: string;
  /** Price groups used (their source and date are in the table). */
  groups: string[];
}

export interface Estimate {
  lines: CostLine[];
  totalUsd: number;
  notPriced: CostLine[];
  /** Sources of the price groups used. */
  sources: Record<string, { source: string; date: string }>;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const money = (x: number) => `$${x.toFixed(2)}`;

class NoPrice extends Error {}

/** Lookup helper that records which groups were used. */
class Prices {
  used = new Set<string>();
  constructor(public readonly table: PriceTable) {}
  get(group: string, key: string): number {
    const g = this.table.groups[group];
    const v = g?.values[key];
    if (v === undefined) throw new NoPrice(`no price for ${key} in ${group}`);
    this.used.add(group);
    return v;
  }
  assumption(key: string, fallback: number): number {
    return this.table.assumptions?.[key]?.value ?? fallback;
  }
  get hours(): number {
    return this.table.hoursPerMonth;
  }
}

interface Priced {
  usd: number;
  basis: string;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const numOf = (v: unknown, fallback: number): number =>
  typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : fallback;
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** Unwraps {"$secret": v} (plans with revealed secrets). */
const plain = (v: unknown): unknown => (v && typeof v === "object" && "$secret" in (v as object) ? (v as { $secret: unknown }).$secret : v);

type Pricer = (r: CostResource, all: CostResource[], p: Prices, state: Map<string, unknown>) => Priced;

/** The task definition an ECS service runs: its `taskDefinition` is that resource's ARN (`…:<name>` under mocks) or family. */
function taskDefinitionOf(service: CostResource, all: CostResource[]): CostResource | undefined {
  const ref = str(plain(service.inputs.taskDefinition));
  const defs = all.filter((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition");
  if (!ref) return undefined;
  const last = ref.split(/[:/]/).filter(Boolean);
  return defs.find((d) => last.includes(d.name)) ?? defs.find((d) => typeof d.inputs.family === "string" && ref.includes(`/${d.inputs.family}:`));
}

const PRICERS: Record<string, Pricer> = {
  "aws:ecs/service:Service": (r, all, p) => {
    const td = taskDefinitionOf(r, all);
    if (!td) throw new NoPrice(`task definition ${String(r.inputs.taskDefinition)} not found among declared resources`);
    const count = numOf(r.inputs.desiredCount, 1);
    const arch = str(rec(td.inputs.runtimePlatform).cpuArchitecture) ?? "X86_64";
    const vcpu = numOf(td.inputs.cpu, NaN) / 1024;
    const gb = numOf(td.inputs.memory, NaN) / 1024;
    if (!Number.isFinite(vcpu) || !Number.isFinite(gb)) throw new NoPrice(`task definition ${td.name} has no task-level cpu/memory`);
    const hourly = vcpu * p.get("aws.fargate", `${arch}.vcpu`) + gb * p.get("aws.fargate", `${arch}.gb`);
    let usd = count * hourly * p.hours;
    let basis = `${count} task(s) × ${vcpu} vCPU/${gb} GB ${arch} × ${p.hours} h`;
    if (str(rec(r.inputs.networkConfiguration).assignPublicIp) === "true" || rec(r.inputs.networkConfiguration).assignPublicIp === true) {
      usd += count * p.get("aws.publicIpv4", "hour") * p.hours;
      basis += ` + ${count} public IPv4`;
    }
    return { usd, basis };
  },
  "aws:rds/instance:Instance": (r, _all, p) => {
    const cls = str(r.inputs.instanceClass) ?? "";
    const engine = str(r.inputs.engine) ?? "postgres";
    if (engine !== "postgres") throw new NoPrice(`engine ${engine} is not in the price table`);
    const azs = r.inputs.multiAz === true ? 2 : 1;
    const gbs = numOf(r.inputs.allocatedStorage, 20);
    const storageType = str(r.inputs.storageType) ?? "gp3";
    let usd = azs * (p.get("aws.rds.postgres", cls) * p.hours + gbs * p.get("aws.rds.storage", storageType));
    let basis = `${cls}${azs === 2 ? " Multi-AZ" : ""} × ${p.hours} h + ${gbs} GB ${storageType}`;
    if (r.inputs.manageMasterUserPassword === true) {
      // RDS keeps the master password in a Secrets Manager secret it creates itself: not a declared resource, still billed.
      usd += p.get("aws.secretsManager", "secret");
      basis += " + the RDS-managed master secret";
    }
    return { usd, basis: `${basis}; backup storage beyond the DB size is usage` };
  },
  "aws:elasticache/replicationGroup:ReplicationGroup": (r, _all, p) => {
    const engine = str(r.inputs.engine) ?? "redis";
    const node = str(r.inputs.nodeType) ?? "";
    const nodes =
      r.inputs.numNodeGroups !== undefined
        ? numOf(r.inputs.numNodeGroups, 1) * (numOf(r.inputs.replicasPerNodeGroup, 0) + 1)
        : numOf(r.inputs.numCacheClusters, 1);
    return { usd: nodes * p.get("aws.elasticache", `${engine}:${node}`) * p.hours, basis: `${nodes} × ${engine} ${node} × ${p.hours} h` };
  },
  "aws:elasticache/cluster:Cluster": (r, _all, p) => {
    const engine = str(r.inputs.engine) ?? "redis";
    const node = str(r.inputs.nodeType) ?? "";
    const nodes = numOf(r.inputs.numCacheNodes, 1);
    return { usd: nodes * p.get("aws.elasticache", `${engine}:${node}`) * p.hours, basis: `${nodes} × ${engine} ${node} × ${p.hours} h` };
  },
  "aws:lb/loadBalancer:LoadBalancer": (r, _all, p) => {
    const type = str(r.inputs.loadBalancerType) ?? "application";
    if (type !== "application") throw new NoPrice(`${type} load balancers are not in the price table`);
    const lcu = p.assumption("albLcu", 1);
    let usd = (p.get("aws.alb", "hour") + lcu * p.get("aws.alb", "lcuHour")) * p.hours;
    let basis = `ALB × ${p.hours} h + ${lcu} LCU`;
    if (r.inputs.internal !== true) {
      // An internet-facing ALB holds one public IPv4 address per subnet (AZ).
      const ips = Math.max(arr(r.inputs.subnets).length, arr(r.inputs.subnetMappings).length, 2);
      usd += ips * p.get("aws.publicIpv4", "hour") * p.hours;
      basis += ` + ${ips} public IPv4`;
    }
    return { usd, basis };
  },
  "aws:ec2/natGateway:NatGateway": (_r, _all, p) => ({
    usd: p.get("aws.natGateway", "hour") * p.hours,
    basis: `NAT gateway × ${p.hours} h; data processed is usage`,
  }),
  "aws:ec2/eip:Eip": (_r, _all, p) => ({ usd: p.get("aws.publicIpv4", "hour") * p.hours, basis: `1 public IPv4 × ${p.hours} h` }),
  "aws:secretsmanager/secret:Secret": (_r, _all, p) => ({ usd: p.get("aws.secretsManager", "secret"), basis: "1 secret-month" }),
  "aws:cloudwatch/metricAlarm:MetricAlarm": (r, _all, p) => {
    const queries = arr(r.inputs.metricQueries).filter((q) => rec(q).metric !== undefined).length;
    const metrics = Math.max(1, queries);
    return { usd: metrics * p.get("aws.cloudwatchAlarm", "metric"), basis: `${metrics} alarm metric(s)` };
  },
  "aws:route53/zone:Zone": (_r, _all, p) => ({ usd: p.get("aws.route53", "zone"), basis: "1 hosted zone" }),
  "aws:route53/healthCheck:HealthCheck": (r, _all, p) => {
    // Optional features billed on top of the basic check: HTTPS, string matching, fast interval, latency.
    const features = [
      String(r.inputs.type ?? "").startsWith("HTTPS"),
      r.inputs.searchString !== undefined,
      r.inputs.requestInterval === 10,
      r.inputs.measureLatency === true,
    ].filter(Boolean).length;
    return {
      usd: p.get("aws.route53HealthCheck", "basic") + features * p.get("aws.route53HealthCheck", "feature"),
      basis: `1 health check + ${features} optional feature(s)`,
    };
  },
  "aws:kms/key:Key": (_r, _all, p) => ({ usd: p.get("aws.kms", "key"), basis: "1 customer managed key" }),
  "digitalocean:index/droplet:Droplet": (r, _all, p) => {
    const size = str(r.inputs.size) ?? "";
    const base = p.get("do.droplet", size);
    const plan = r.inputs.backups === true ? (str(rec(r.inputs.backupPolicy).plan) ?? "weekly") : undefined;
    if (!plan) return { usd: base, basis: `${size}, no backups` };
    const share = p.get("do.dropletBackups", plan);
    return { usd: base * (1 + share), basis: `${size} + ${plan} backups (${share * 100}%)` };
  },
  "digitalocean:index/databaseCluster:DatabaseCluster": (r, _all, p) => {
    const engine = str(r.inputs.engine) ?? "";
    if (engine !== "pg") throw new NoPrice(`engine ${engine} is not in the price table`);
    const size = str(r.inputs.size) ?? "";
    const nodes = numOf(r.inputs.nodeCount, 1);
    return { usd: nodes * p.get("do.database", size), basis: `${nodes} × PostgreSQL ${size} (daily backups and 7-day PITR included)` };
  },
  "digitalocean:index/uptimeCheck:UptimeCheck": (_r, _all, p) => ({ usd: p.get("do.uptime", "check"), basis: "1 uptime check (4 regions), alerts included" }),
  "digitalocean:index/spacesBucket:SpacesBucket": (_r, _all, p, state) => {
    // One Spaces subscription per account covers every bucket: charge it once per stack.
    if (state.get("spaces")) return { usd: 0, basis: "covered by the Spaces subscription counted above; storage beyond 250 GiB is usage" };
    state.set("spaces", true);
    return { usd: p.get("do.spaces", "subscription"), basis: "Spaces subscription (all buckets; 250 GiB + 1 TiB transfer)" };
  },
  "digitalocean:index/volume:Volume": (r, _all, p) => {
    const gb = numOf(r.inputs.size, NaN);
    if (!Number.isFinite(gb)) throw new NoPrice("volume has no size");
    return { usd: gb * p.get("do.volume", "gb"), basis: `${gb} GiB` };
  },
};

function freeReason(type: string, table: PriceTable): string | undefined {
  if (table.free[type] !== undefined) return table.free[type];
  const [pkg, mod] = type.split(":");
  return table.free[`${pkg}:${mod}:*`] ?? table.free[`${pkg}:*`];
}

/** Monthly estimate of `resources` under `table`. Pure: same input, same output. */
export function estimate(resources: CostResource[], table: PriceTable): Estimate {
  const p = new Prices(table);
  const state = new Map<string, unknown>();
  const lines: CostLine[] = [];
  for (const r of resources) {
    const pricer = PRICERS[r.type];
    if (pricer) {
      p.used = new Set(); // groups this resource's price came from
      try {
        const { usd, basis } = pricer(r, resources, p, state);
        lines.push({ type: r.type, name: r.name, category: "priced", monthlyUsd: round2(usd), basis, groups: [...p.used] });
      } catch (e) {
        if (!(e instanceof NoPrice)) throw e;
        lines.push({ type: r.type, name: r.name, category: "not-priced", monthlyUsd: 0, basis: e.message, groups: [] });
      }
      continue;
    }
    if (table.usage[r.type] !== undefined) lines.push({ type: r.type, name: r.name, category: "usage", monthlyUsd: 0, basis: table.usage[r.type], groups: [] });
    else {
      const why = freeReason(r.type, table);
      if (why !== undefined) lines.push({ type: r.type, name: r.name, category: "free", monthlyUsd: 0, basis: why, groups: [] });
      else lines.push({ type: r.type, name: r.name, category: "not-priced", monthlyUsd: 0, basis: "no price and not known to be free", groups: [] });
    }
  }
  const used = new Set(lines.flatMap((l) => l.groups));
  const sources: Estimate["sources"] = {};
  for (const g of [...used].sort()) sources[g] = { source: table.groups[g].source, date: table.groups[g].date };
  return {
    lines,
    totalUsd: round2(lines.reduce((s, l) => s + l.monthlyUsd, 0)),
    notPriced: lines.filter((l) => l.category === "not-priced"),
    sources,
  };
}

/** Human-readable report of an estimate. */
export function formatEstimate(stack: string, e: Estimate): string {
  const out: string[] = [`Monthly estimate for stack ${stack} (USD, list prices; usage-based charges not included)`, ""];
  const order: Category[] = ["priced", "usage", "not-priced", "free"];
  for (const cat of order) {
    const ls = e.lines.filter((l) => l.category === cat);
    if (!ls.length) continue;
    out.push(
      cat === "priced"
        ? "Priced:"
        : cat === "usage"
          ? "Usage-based (not in the total):"
          : cat === "not-priced"
            ? "NOT PRICED (no price in scripts/lib/prices.json, not known to be free):"
            : "Free:",
    );
    for (const l of ls) out.push(`  ${cat === "priced" ? money(l.monthlyUsd).padStart(9) : "         "}  ${l.type}  ${l.name}  — ${l.basis}`);
    out.push("");
  }
  out.push(`Total: ${money(e.totalUsd)} per month${e.notPriced.length ? ` + ${e.notPriced.length} resource(s) not priced` : ""}`);
  if (Object.keys(e.sources).length) {
    out.push("", "Prices:");
    for (const [g, s] of Object.entries(e.sources)) out.push(`  ${g}: ${s.source} (${s.date})`);
  }
  return out.join("\n");
}
