// CPU and memory limits of every container on the 2 vCPU / 4 GB reference host,
// in one table: the compose renderer reads its limits from here (app services
// from core/model.ts, observability from observability/budget.ts), and the README
// prints the sums. Memory is the hard constraint (the OOM killer); CPU limits
// are ceilings.
import { appServices } from "../../core/model";
import { OBSERVABILITY_BUDGET } from "./observability/budget";
import type { AppSettings } from "../../core/config";

export const HOST = { cpus: 2, memoryMb: 4096 };
/** Kept free for the kernel, dockerd, containerd, sshd and the page cache. */
export const OS_RESERVE_MB = 416;

export type BudgetKind = "service" | "job" | "observability";

export interface BudgetRow {
  service: string;
  kind: BudgetKind;
  targets: ("vm" | "digitalocean")[];
  cpus: number;
  memoryMb: number;
}

const BOTH: BudgetRow["targets"] = ["vm", "digitalocean"];

// The model's limits do not depend on the app settings; a placeholder reads them.
const MODEL = appServices({
  app: { images: { backend: "x:1", worker: "x:1", frontend: "x:1" }, rateLimit: { max: 1, windowMs: 1000, expectedWebhooksPerMinute: 0 } } as AppSettings,
  objectStoreEndpoint: "",
  assetsBucket: "",
});

/** Infrastructure services rendered by compose/render/compose.ts. */
const INFRA: BudgetRow[] = [
  { service: "caddy", kind: "service", targets: BOTH, cpus: 0.25, memoryMb: 96 },
  { service: "redis", kind: "service", targets: BOTH, cpus: 0.2, memoryMb: 256 },
  { service: "pgbouncer", kind: "service", targets: BOTH, cpus: 0.1, memoryMb: 32 },
  { service: "postgres", kind: "service", targets: ["vm"], cpus: 0.4, memoryMb: 576 },
  { service: "objectstore", kind: "service", targets: ["vm"], cpus: 0.15, memoryMb: 256 },
  { service: "db-setup", kind: "job", targets: BOTH, cpus: 0.1, memoryMb: 64 },
];

export function budgetTable(): BudgetRow[] {
  const app: BudgetRow[] = Object.values(MODEL).map((s) => ({
    service: s.name,
    kind: s.name === "migrate" ? "job" : "service",
    targets: BOTH,
    cpus: s.limits.cpus,
    memoryMb: s.limits.memoryMb,
  }));
  const obs: BudgetRow[] = Object.entries(OBSERVABILITY_BUDGET).map(([service, b]) => ({
    service,
    kind: "observability",
    targets: BOTH,
    cpus: b.cpus,
    memoryMb: b.memoryMb,
  }));
  return [...app, ...INFRA, ...obs];
}

export function budgetFor(service: string): BudgetRow {
  const row = budgetTable().find((r) => r.service === service);
  if (!row) throw new Error(`no budget row for ${service}`);
  return row;
}

export interface BudgetSum {
  target: "vm" | "digitalocean";
  /** Long-running app and data services. */
  serviceCpus: number;
  serviceMemoryMb: number;
  observabilityCpus: number;
  observabilityMemoryMb: number;
  /**
   * Worst moment of a deploy: everything running, plus one one-shot job
   * (db-setup and migrate run one after the other) or the second backend of
   * the rolling update, whichever is larger.
   */
  peakMemoryMb: number;
  memoryAvailableMb: number;
}

const sum = (rows: BudgetRow[], f: (r: BudgetRow) => number) => Math.round(rows.reduce((a, r) => a + f(r), 0) * 100) / 100;

export function budgetSum(target: "vm" | "digitalocean", observability = true): BudgetSum {
  const rows = budgetTable().filter((r) => r.targets.includes(target));
  const services = rows.filter((r) => r.kind === "service");
  const obs = observability ? rows.filter((r) => r.kind === "observability") : [];
  const surge = Math.max(...rows.filter((r) => r.kind === "job").map((r) => r.memoryMb), budgetFor("backend").memoryMb);
  return {
    target,
    serviceCpus: sum(services, (r) => r.cpus),
    serviceMemoryMb: sum(services, (r) => r.memoryMb),
    observabilityCpus: sum(obs, (r) => r.cpus),
    observabilityMemoryMb: sum(obs, (r) => r.memoryMb),
    peakMemoryMb: sum(services, (r) => r.memoryMb) + sum(obs, (r) => r.memoryMb) + surge,
    memoryAvailableMb: HOST.memoryMb - OS_RESERVE_MB,
  };
}
