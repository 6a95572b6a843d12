// loki.yml: a single-process Loki 3 on the local filesystem, with retention by the compactor.

/** Loki keeps container logs 14 days. */
export const LOKI_RETENTION_HOURS = 336;

export function lokiConfig(): object {
  return {
    auth_enabled: false,
    server: { http_listen_port: 3100, grpc_listen_port: 9096, log_level: "warn" },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: "/loki",
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
      storage: { filesystem: { chunks_directory: "/loki/chunks", rules_directory: "/loki/rules" } },
    },
    // Loki 3: tsdb index + schema v13 (boltdb-shipper / v11 are refused).
    schema_config: {
      configs: [{ from: "2024-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }],
    },
    limits_config: {
      retention_period: `${LOKI_RETENTION_HOURS}h`,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
      ingestion_rate_mb: 4,
      ingestion_burst_size_mb: 8,
      max_query_series: 1000,
      allow_structured_metadata: true,
      volume_enabled: true,
    },
    compactor: {
      working_directory: "/loki/compactor",
      compaction_interval: "10m",
      retention_enabled: true,
      retention_delete_delay: "2h",
      delete_request_store: "filesystem",
    },
    query_range: { results_cache: { cache: { embedded_cache: { enabled: true, max_size_mb: 32 } } } },
    ingester: { chunk_idle_period: "30m", max_chunk_age: "2h" },
    analytics: { reporting_enabled: false },
  };
}
