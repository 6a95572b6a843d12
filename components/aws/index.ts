// The AWS target: ALB -> Fargate (backend, worker, frontend), RDS PostgreSQL,
// ElastiCache (Valkey), S3, Secrets Manager, CloudWatch. Lean by default: no NAT
// gateway (tasks get public IPs but accept traffic only from the ALB).
// The constructor is the table of contents: each step is a create* function in
// its own file that declares one part's resources; the pure parts (container
// definitions, policies, alarm specs, routing, scripts) are separate modules
// that take and return plain data. Map: docs/aws.md#where-in-the-code.
import * as pulumi from "@pulumi/pulumi";
import { ImageDigests, imageDigestsArgs } from "../shared/image-digests";
import { DnsRecord, MoveImportAccess, MoveSourceFactory, TargetArgs, TargetOutputs } from "../shared/target";
import { createBackupPlan } from "./backup-plan";
import { createBuckets } from "./buckets";
import { createCertificate } from "./certificate";
import { createCluster } from "./cluster";
import { ALB_IDLE_TIMEOUT, ASSETS_REGION, MASTER_USERNAME, SSL_POLICY } from "./constants";
import { createDatabase } from "./database";
import { dnsRecordOutputs } from "./dns-records";
import { createDumpTask } from "./dump-task";
import { createListeners, createLoadBalancer } from "./load-balancer";
import { createMigrationRuns } from "./migrations";
import { createMoveImport } from "./move-import-task";
import { moveSourceFactory } from "./move-source";
import { createAlarms } from "./monitoring";
import { createNetwork } from "./network";
import { createRdsCa } from "./rds-ca-bundle";
import { createRedis } from "./redis";
import { createScope } from "./scope";
import { REQUIRED_APP_SECRETS, USER_SECRET_ENV, unmappedAppSecrets } from "./secret-map";
import { createSecrets } from "./secrets";
import { createSecurityGroups } from "./security-groups";
import { createServices } from "./services";
import { createTaskDefinitions } from "./task-definitions";
import { createUploadsBackup } from "./uploads-backup";

export { ALB_IDLE_TIMEOUT, ASSETS_REGION, MASTER_USERNAME, REQUIRED_APP_SECRETS, SSL_POLICY, USER_SECRET_ENV };

export class AwsTarget extends pulumi.ComponentResource implements TargetOutputs {
  public readonly url: pulumi.Output<string>;
  public readonly hostAddress: pulumi.Output<string>;
  public readonly databaseEndpoint: pulumi.Output<string>;
  public readonly dnsRecords: pulumi.Output<DnsRecord[]>;
  public readonly moveImport?: MoveImportAccess;
  public readonly moveSource: MoveSourceFactory;

  constructor(name: string, args: TargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("freshtrack:aws:Target", name, {}, opts);
    const { config, secrets, userSecrets } = args;
    const cfg = config.aws;
    if (!cfg) throw new Error("AwsTarget needs the aws settings (target aws)");
    const unmapped = unmappedAppSecrets();
    if (unmapped.length) throw new Error(`AwsTarget: no source for app secrets ${unmapped.join(", ")} (map them in components/aws/secret-map.ts)`);

    // Resources are declared in this order and the offline plan lists them so: scripts/plan-diff.sh compares it byte for byte.
    const scope = createScope(this, config, cfg); // providers, caller identity
    const network = createNetwork(scope);
    const groups = createSecurityGroups(scope, network);
    const buckets = createBuckets(scope);
    const database = createDatabase(scope, network, groups);
    createBackupPlan(scope, database.db); // only when backupRetentionDays > 35
    const rdsCa = createRdsCa(scope); // the region's RDS root CAs: every client verifies RDS with them
    const redis = createRedis(scope, network, groups, secrets);
    const appSecrets = createSecrets(scope, {
      secrets,
      userSecrets,
      dbAddress: database.db.address,
      redisAddress: redis.redis.primaryEndpointAddress,
      assetsKey: buckets.assetsKey,
    });

    const cluster = createCluster(scope);
    // Every image a task runs, pinned to its registry digest (unless imageDigests is off).
    const digests = new ImageDigests("image-registry", imageDigestsArgs(config, userSecrets), this);
    const taskDefs = createTaskDefinitions(scope, { cluster, digests, assetsBucket: buckets.assets, database, appSecrets, rdsCa });
    const migrations = createMigrationRuns(scope, { cluster, taskDefs, network, groups, database, appSecrets });

    const lb = createLoadBalancer(scope, network, groups);
    const certificate = createCertificate(scope, lb.alb);
    const listeners = createListeners(scope, lb, certificate.arn);
    // A move's new side: no tasks until its cutover (left to the move), none once rolled back
    // (a copy back's freeze stops them itself, once every request goes to the old host).
    const incoming = args.moveIncoming;
    const holdForMove = incoming === "rollback" ? "zero" : incoming ? "leave" : undefined;
    const services = createServices(scope, { cluster, taskDefs, network, groups, lb, listeners, migrations, holdForMove });

    // Until its cutover (or once rolled back) a move's new side has no backend task: expected, not an incident.
    const quiet = holdForMove ? ["backend-no-healthy-hosts"] : [];
    const alarms = createAlarms(scope, { lb, cluster, services, database, redis, quiet });
    const dump = createDumpTask(scope, { cluster, database, backupsBucket: buckets.backups, digests, network, groups, alarmTopic: alarms.topic, rdsCa });
    createUploadsBackup(scope, { assetsBucket: buckets.assets, alarmTopic: alarms.usEast1Topic });
    if (incoming === "prepare" || incoming === "cutover") {
      // The move's way in: a push key for the old host and the import task (docs/move.md).
      this.moveImport = createMoveImport(scope, { cluster, network, groups, database, buckets, appSecrets, digests, dumpKey: dump.key, rdsCa, services });
    }

    // A move off this side declares its export and forwarder under the move, only when it runs.
    this.moveSource = moveSourceFactory(scope, {
      cluster,
      network,
      groups,
      database,
      buckets,
      appSecrets,
      digests,
      dumpKey: dump.key,
      rdsCa,
      services,
      lb,
      listeners,
      registryLogin: appSecrets.registryLogin,
    });

    this.url = pulumi.output(`https://${config.app.domain}`);
    this.hostAddress = lb.alb.dnsName;
    this.databaseEndpoint = database.db.endpoint;
    this.dnsRecords = pulumi
      .all([certificate.validation, lb.alb.dnsName])
      .apply(([v, dns]) => dnsRecordOutputs(v, dns, config.app.domain, Boolean(cfg.route53ZoneId)));
    this.registerOutputs({ url: this.url, hostAddress: this.hostAddress, databaseEndpoint: this.databaseEndpoint, dnsRecords: this.dnsRecords });
  }
}
