// database-protected: the database holds every reading ever taken. It must be
// encrypted at rest, unreachable from the internet, backed up for at least a
// week, and impossible to delete by a stray `pulumi destroy` or replacement.
import { definePolicy, Res, StackViolation } from "../lib/types";
import { asArray, isUnknown, num, str } from "../lib/values";

export const TYPES = {
  rdsInstance: "aws:rds/instance:Instance",
  rdsCluster: "aws:rds/cluster:Cluster",
  doCluster: "digitalocean:index/databaseCluster:DatabaseCluster",
  doFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
};

/**
 * DatabaseClusterArgs keys of @pulumi/digitalocean 4.80.1 that mention backups.
 * `backupRestore` only says which backup to restore a new cluster from. DigitalOcean
 * has no API field that turns PostgreSQL backups or point-in-time recovery off
 * (daily backups, 7 days of PITR, always on): any other backup-ish key is a
 * provider change this policy must be taught about, and is refused until then.
 * tests/unit/policy-databases.test.ts re-reads the SDK types to keep this true.
 */
export const DO_KNOWN_BACKUP_KEYS = ["backupRestore"];
/** Engines for which DigitalOcean keeps daily backups with point-in-time recovery. */
export const DO_PITR_ENGINES = ["pg", "mysql"];

export interface DatabaseConfig {
  /** Minimum automated backup retention in days (RDS). */
  minBackupRetentionDays: number;
}

function rds(r: Res, cfg: DatabaseConfig): string[] {
  const out: string[] = [];
  const p = r.props;
  const label = r.type === TYPES.rdsCluster ? "RDS cluster" : "RDS instance";
  if (p.storageEncrypted !== true && !isUnknown(p.storageEncrypted))
    out.push(
      `${label}: storageEncrypted is ${JSON.stringify(p.storageEncrypted ?? null)}; it must be true (at-rest encryption cannot be turned on later without a restore).`,
    );
  if (r.type === TYPES.rdsInstance && p.publiclyAccessible === true)
    out.push(`${label}: publiclyAccessible is true; the database must only be reachable from inside the VPC.`);
  const days = num(p.backupRetentionPeriod);
  if (days === undefined) out.push(`${label}: backupRetentionPeriod is not set (the API default is 1 day); set it to at least ${cfg.minBackupRetentionDays}.`);
  else if (!isUnknown(days) && days < cfg.minBackupRetentionDays)
    out.push(`${label}: backupRetentionPeriod is ${days}; it must be at least ${cfg.minBackupRetentionDays} days.`);
  if (p.deletionProtection !== true && !isUnknown(p.deletionProtection))
    out.push(`${label}: deletionProtection is ${JSON.stringify(p.deletionProtection ?? null)}; it must be true.`);
  if (p.skipFinalSnapshot === true) out.push(`${label}: skipFinalSnapshot is true; a deleted database must leave a final snapshot.`);
  return out;
}

function doCluster(r: Res): string[] {
  const out: string[] = [];
  const p = r.props;
  const engine = str(p.engine);
  if (typeof engine === "string" && !DO_PITR_ENGINES.includes(engine))
    out.push(`DigitalOcean database: engine "${engine}" has no managed backups with point-in-time recovery; the app database must be "pg".`);
  const net = str(p.privateNetworkUuid);
  if (net === undefined || net === "")
    out.push(`DigitalOcean database: privateNetworkUuid is not set; the cluster must live in the droplet's VPC so the app reaches it privately.`);
  for (const key of Object.keys(p)) {
    if (/backup|pitr|point.?in.?time/i.test(key) && !DO_KNOWN_BACKUP_KEYS.includes(key))
      out.push(`DigitalOcean database: property ${key} is not known to this policy and may change backups; review it and extend DO_KNOWN_BACKUP_KEYS.`);
  }
  // DigitalOcean has no deletion protection and deleting a cluster deletes its backups: only Pulumi's protect guards it.
  if (r.protect !== true)
    out.push(`DigitalOcean database: the resource is not protected (resource option protect: true); deleting the cluster also deletes its backups.`);
  return out;
}

export const databaseProtected = definePolicy<DatabaseConfig>({
  name: "database-protected",
  description: "Databases are encrypted at rest, private, backed up for at least 7 days and protected from deletion.",
  enforcementLevel: "mandatory",
  why: "The database is the record of every reading (HACCP evidence). Any of these gaps loses or exposes it, and most cannot be fixed after creation without a restore.",
  remediation:
    "RDS: storageEncrypted: true, publiclyAccessible: false, backupRetentionPeriod >= 7 (config backupRetentionDays), deletionProtection: true, a finalSnapshotIdentifier and skipFinalSnapshot: false. DigitalOcean: engine pg, privateNetworkUuid = the droplet's VPC, and the resource option protect: true.",
  types: [TYPES.rdsInstance, TYPES.rdsCluster, TYPES.doCluster],
  configSchema: { properties: { minBackupRetentionDays: { type: "integer", minimum: 7, default: 7 } } },
  defaults: { minBackupRetentionDays: 7 },
  validateResource: (r, cfg) => {
    if (r.type === TYPES.rdsInstance || r.type === TYPES.rdsCluster) return rds(r, cfg);
    if (r.type === TYPES.doCluster) return doCluster(r);
    return [];
  },
});

export interface RetentionConfig {
  recommendedDays: number;
}

export const backupRetentionRecommended = definePolicy<RetentionConfig>({
  name: "backup-retention-recommended",
  description: "RDS keeps automated backups for the HACCP-recommended 30 days.",
  enforcementLevel: "advisory",
  why: "7 days is the floor (mandatory, database-protected); 30 days is what food-safety audits usually ask for. A customer may accept less, so this only warns and can be relaxed per stack.",
  remediation: "Raise backupRetentionDays in the stack config (RDS allows up to 35), or set recommendedDays for this policy in policy/config/<stack>.json.",
  types: [TYPES.rdsInstance, TYPES.rdsCluster],
  configSchema: { properties: { recommendedDays: { type: "integer", minimum: 1, default: 30 } } },
  defaults: { recommendedDays: 30 },
  validateResource: (r, cfg) => {
    if (r.type !== TYPES.rdsInstance && r.type !== TYPES.rdsCluster) return [];
    const days = num(r.props.backupRetentionPeriod);
    if (typeof days === "number" && days >= 7 && days < cfg.recommendedDays)
      return [`backupRetentionPeriod is ${days} days; ${cfg.recommendedDays} is recommended for HACCP records.`];
    return [];
  },
});

/** Does `fw`'s clusterId point at `cluster`? By recorded dependency (engine) or by id value (plans, existing stacks). */
function firewallFor(fw: Res, cluster: Res): boolean {
  if ((fw.propertyDependencies?.clusterId ?? []).includes(cluster.key)) return true;
  const id = fw.props.clusterId;
  return typeof id === "string" && [cluster.id, cluster.props.id, cluster.props.clusterUrn].includes(id);
}

export const databaseFirewalled = definePolicy({
  name: "database-firewalled",
  description: "Every DigitalOcean database cluster has a database firewall (trusted sources), so its public hostname accepts nobody else.",
  enforcementLevel: "mandatory",
  why: "A managed cluster without trusted sources accepts connections from the whole internet on its public hostname, even when it also has a private network.",
  remediation: "Add a digitalocean.DatabaseFirewall with clusterId = cluster.id and a rule of type droplet (the app droplet) or tag.",
  types: [TYPES.doCluster, TYPES.doFirewall],
  defaults: {},
  validateStack: (resources) => {
    const out: StackViolation[] = [];
    const firewalls = resources.filter((r) => r.type === TYPES.doFirewall);
    for (const c of resources.filter((r) => r.type === TYPES.doCluster)) {
      const fw = firewalls.filter((f) => firewallFor(f, c));
      if (fw.length === 0)
        out.push({ resource: c.key, message: `DigitalOcean database ${c.name} has no DatabaseFirewall: it accepts connections from anywhere.` });
      else if (fw.every((f) => asArray(f.props.rules).length === 0))
        out.push({ resource: c.key, message: `DigitalOcean database ${c.name}: its DatabaseFirewall has no rules.` });
    }
    return out;
  },
});
