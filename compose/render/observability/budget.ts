// CPU and memory limits of the observability services, which compose/render/budget.ts
// adds to the host's budget table beside the app's.

/**
 * Limits on the 2 vCPU / 4 GB reference host. The whole profile is capped at
 * 1.25 CPU and 1 GiB so the app (backend 768 MB, worker 512 MB, postgres, redis, …)
 * keeps the rest. Go services get GOMEMLIMIT at ~80 % of their cap so the GC
 * works harder instead of the OOM killer stepping in.
 */
export const OBSERVABILITY_BUDGET = {
  prometheus: { cpus: 0.3, memoryMb: 256 },
  alertmanager: { cpus: 0.05, memoryMb: 48 },
  grafana: { cpus: 0.25, memoryMb: 192 },
  loki: { cpus: 0.25, memoryMb: 256 },
  alloy: { cpus: 0.2, memoryMb: 144 },
  "docker-socket-proxy": { cpus: 0.03, memoryMb: 16 },
  "node-exporter": { cpus: 0.1, memoryMb: 48 },
  "blackbox-exporter": { cpus: 0.05, memoryMb: 32 },
} as const satisfies Record<string, { cpus: number; memoryMb: number }>;

export type ObservabilityService = keyof typeof OBSERVABILITY_BUDGET;
export const OBSERVABILITY_SERVICES = Object.keys(OBSERVABILITY_BUDGET) as ObservabilityService[];

/** `GOMEMLIMIT` of a Go service: 80 % of its memory cap. */
export const goMemLimit = (key: ObservabilityService) => `${Math.floor(OBSERVABILITY_BUDGET[key].memoryMb * 0.8)}MiB`;
