// What each cloud offers, as far as config validation needs to know.
// Sources: DigitalOcean API /v2/sizes and managed database docs ("25 connections
// per GiB, 3 reserved"), AWS Fargate task size table, RDS/ElastiCache instance
// families (checked 2026-11). Extend the tables when a customer needs more.

export const DO_REGIONS = ["ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1", "atl1"] as const;

export const DO_DROPLET_SIZES = [
  "s-1vcpu-2gb",
  "s-2vcpu-2gb",
  "s-2vcpu-4gb",
  "s-4vcpu-8gb",
  "s-8vcpu-16gb",
  "g-2vcpu-8gb",
  "g-4vcpu-16gb",
  "c-2",
  "c-4",
] as const;

export const DO_DROPLET_IMAGES = ["ubuntu-22-04-x64", "ubuntu-24-04-x64", "debian-12-x64"] as const;

/** Managed PostgreSQL plans: max_connections of the plan and nodes. */
export const DO_DB_SIZES: Record<string, { maxConnections: number; memoryGb: number }> = {
  "db-s-1vcpu-1gb": { maxConnections: 25, memoryGb: 1 },
  "db-s-1vcpu-2gb": { maxConnections: 50, memoryGb: 2 },
  "db-s-2vcpu-4gb": { maxConnections: 100, memoryGb: 4 },
  "db-s-4vcpu-8gb": { maxConnections: 200, memoryGb: 8 },
  "db-s-6vcpu-16gb": { maxConnections: 400, memoryGb: 16 },
  "db-s-8vcpu-32gb": { maxConnections: 800, memoryGb: 32 },
};

export const AWS_REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-2",
  "ca-central-1",
  "eu-west-1",
  "eu-west-2",
  "eu-central-1",
  "eu-north-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-northeast-1",
] as const;

export const RDS_INSTANCE_CLASSES = ["db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.m7g.large", "db.m7g.xlarge", "db.r7g.large"] as const;

export const ELASTICACHE_NODE_TYPES = ["cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium", "cache.m7g.large"] as const;

/** Fargate: CPU units -> allowed memory (MiB). */
export const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};
