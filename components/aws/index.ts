// AWS target: ALB -> Fargate (backend, worker, frontend), RDS PostgreSQL,
// ElastiCache (Valkey), S3, Secrets Manager, CloudWatch. Container definitions
// are derived from core/model.ts (container-definitions.ts); routing,
// policies and alarms are pure modules next to this file. Lean by default:
// no NAT gateway (tasks get public IPs but accept traffic only from the ALB).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { imageFor } from "../../core/images";
import { AwsSettings } from "../../core/config";
import { DB_NAME, cloudName } from "../../core/naming";
import { ImageDigests, imageDigestsArgs } from "../shared/image-digests";
import { DnsRecord, TargetArgs, TargetOutputs } from "../shared/target";
import { HEALTH_CHECK_METRIC_REGION, alarmSpecs, healthCheckAlarmSpec, publicHealthCheck } from "./alarms";
import { awsCron } from "../../core/aws-schedule";
import {
  DUMP_FRESHNESS_ALARM,
  DUMP_METRIC,
  UPLOAD_MARKER,
  dumpClientImage,
  dumpContainerDefinitions,
  dumpMetricName,
  dumpTaskPolicy,
  schedulerPolicy,
} from "./dump";
import { ALB_IDLE_TIMEOUT, ASSETS_REGION, MASTER_USERNAME, SSL_POLICY } from "./constants";
import { createBackupPlan } from "./backup-plan";
import { createBuckets } from "./buckets";
import { createCluster } from "./cluster";
import { createDatabase } from "./database";
import { createMigrationRuns } from "./migrations";
import { createTaskDefinitions } from "./task-definitions";
import { createRedis } from "./redis";
import { createNetwork } from "./network";
import { createScope } from "./scope";
import { createSecrets } from "./secrets";
import { createSecurityGroups } from "./security-groups";
import { awsAppServices } from "./task-specs";
import { executionRolePolicy } from "./iam-policies";
import { listenerRules } from "./routing";
import { REQUIRED_APP_SECRETS, USER_SECRET_ENV, unmappedAppSecrets } from "./secret-map";

export { REQUIRED_APP_SECRETS, USER_SECRET_ENV };

export { ALB_IDLE_TIMEOUT, ASSETS_REGION, MASTER_USERNAME, SSL_POLICY };

export class AwsTarget extends pulumi.ComponentResource implements TargetOutputs {
  public readonly url: pulumi.Output<string>;
  public readonly hostAddress: pulumi.Output<string>;
  public readonly databaseEndpoint: pulumi.Output<string>;
  public readonly dnsRecords: pulumi.Output<DnsRecord[]>;

  constructor(name: string, args: TargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("freshtrack:aws:Target", name, {}, opts);
    const { config, secrets, userSecrets } = args;
    if (!config.aws) throw new Error("AwsTarget needs the aws settings (target aws)");
    const unmapped = unmappedAppSecrets();
    if (unmapped.length) throw new Error(`AwsTarget: no source for app secrets ${unmapped.join(", ")} (map them in components/aws/secret-map.ts)`);
    const cfg: AwsSettings = config.aws;
    const app = config.app;
    const stack = pulumi.getStack();

    const scope = createScope(this, config, cfg);
    const { provider, assetsProvider, identity } = scope;
    const o = scope.opts;
    const network = createNetwork(scope);
    const { vpc, igw, publicSubnets, taskSubnets, assignPublicIp } = network;
    const groups = createSecurityGroups(scope, network);
    const { alb: albSg, app: appSg, frontend: frontendSg } = groups;

    const buckets = createBuckets(scope);
    const { assets: assetsBucket, backups: backupsBucket, assetsKey } = buckets;

    const database = createDatabase(scope, network, groups);
    createBackupPlan(scope, database.db);
    const { db, masterSecretArn } = database;
    const { redis, redisId } = createRedis(scope, network, groups, secrets);

    const appSecrets = createSecrets(scope, { secrets, userSecrets, dbAddress: db.address, redisAddress: redis.primaryEndpointAddress, assetsKey });

    const ecs = createCluster(scope);
    const { cluster, assumeRolePolicy: assume } = ecs;
    // Every image a task runs, pinned to its registry digest (unless imageDigests is off).
    const digests = new ImageDigests("image-registry", imageDigestsArgs(config, userSecrets), this);
    const taskDefs = createTaskDefinitions(scope, { cluster: ecs, digests, assetsBucket, database, appSecrets });
    const { migrate } = createMigrationRuns(scope, { cluster: ecs, taskDefs, network, groups, database, appSecrets });

    // ---- load balancer ------------------------------------------------------------
    const alb = new aws.lb.LoadBalancer(
      "alb",
      {
        loadBalancerType: "application",
        internal: false,
        subnets: publicSubnets.map((s) => s.id),
        securityGroups: [albSg.id],
        idleTimeout: ALB_IDLE_TIMEOUT,
        dropInvalidHeaderFields: true,
      },
      // An internet-facing ALB cannot be created in a VPC without its gateway.
      o({ dependsOn: [igw] }),
    );
    const backendSvc = awsAppServices(app, "x").backend; // model values that do not depend on the bucket name
    const targetGroup = (n: "backend" | "frontend", port: number, path: string, deregistrationDelay: number, sticky: boolean) =>
      new aws.lb.TargetGroup(
        n,
        {
          port,
          protocol: "HTTP",
          targetType: "ip",
          vpcId: vpc.id,
          deregistrationDelay,
          healthCheck: { path, port: "traffic-port", protocol: "HTTP", matcher: "200", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
          // socket.io starts with HTTP long-polling: with more than one backend, every poll must reach the same task.
          stickiness: sticky ? { type: "lb_cookie", enabled: true, cookieDuration: 86400 } : { type: "lb_cookie", enabled: false },
        },
        o(),
      );
    // Backend drains as long as its stop grace (longer than its longest request): in-flight webhooks finish before SIGTERM.
    const backendTg = targetGroup("backend", 3000, "/health/ready", backendSvc.stopGraceSeconds, true);
    const frontendTg = targetGroup("frontend", 8080, "/health", 30, false);

    const cert = new aws.acm.Certificate("cert", { domainName: app.domain, validationMethod: "DNS" }, o());
    const validation = cert.domainValidationOptions.apply((opts) => {
      const v = opts.find((x) => x.domainName === app.domain) ?? opts[0];
      return { name: v.resourceRecordName, type: v.resourceRecordType, value: v.resourceRecordValue };
    });
    let certificateArn: pulumi.Output<string>;
    if (cfg.route53ZoneId) {
      const record = new aws.route53.Record(
        "cert-validation",
        { zoneId: cfg.route53ZoneId, name: validation.name, type: validation.type, records: [validation.value], ttl: 300, allowOverwrite: true },
        o(),
      );
      certificateArn = new aws.acm.CertificateValidation("cert", { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] }, o()).certificateArn;
      new aws.route53.Record(
        "app",
        { zoneId: cfg.route53ZoneId, name: app.domain, type: "A", aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }] },
        o(),
      );
    } else {
      // No zone of ours: print the record now and wait (up to 2 h) while the operator creates it.
      // Only while ACM still waits: an issued certificate needs no reminder on every preview.
      pulumi.all([validation, cert.status]).apply(([v, status]) => {
        if (status !== "ISSUED")
          pulumi.log.warn(
            `Action needed: create DNS record ${v.type} ${v.name} -> ${v.value} so ACM can issue the certificate for ${app.domain}; pulumi up waits for it.`,
            this,
          );
      });
      certificateArn = new aws.acm.CertificateValidation("cert", { certificateArn: cert.arn }, o({ customTimeouts: { create: "2h" } })).certificateArn;
    }

    const https = new aws.lb.Listener(
      "https",
      {
        loadBalancerArn: alb.arn,
        port: 443,
        protocol: "HTTPS",
        sslPolicy: SSL_POLICY,
        certificateArn,
        defaultActions: [{ type: "forward", targetGroupArn: frontendTg.arn }],
      },
      o(),
    );
    new aws.lb.Listener(
      "http",
      {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
      },
      o(),
    );
    const rules = listenerRules().map(
      (r) =>
        new aws.lb.ListenerRule(
          r.name,
          {
            listenerArn: https.arn,
            priority: r.priority,
            conditions: [{ pathPattern: { values: r.pathPatterns } }],
            actions: [{ type: "forward", targetGroupArn: backendTg.arn }],
          },
          o(),
        ),
    );

    // ---- services ---------------------------------------------------------------------
    const service = (
      f: "backend" | "worker" | "frontend",
      count: number,
      groups: aws.ec2.SecurityGroup[],
      lb: { tg: aws.lb.TargetGroup; port: number } | undefined,
      dependsOn: pulumi.Resource[],
    ) =>
      new aws.ecs.Service(
        f,
        {
          name: f,
          cluster: cluster.arn,
          taskDefinition: taskDefs[f].arn,
          desiredCount: count,
          launchType: "FARGATE",
          platformVersion: "1.4.0",
          networkConfiguration: { subnets: taskSubnets.map((s) => s.id), securityGroups: groups.map((g) => g.id), assignPublicIp },
          loadBalancers: lb ? [{ targetGroupArn: lb.tg.arn, containerName: f, containerPort: lb.port }] : [],
          // New tasks start and turn healthy before old ones stop; a failing release rolls back by itself.
          deploymentMinimumHealthyPercent: 100,
          deploymentMaximumPercent: 200,
          deploymentCircuitBreaker: { enable: true, rollback: true },
          healthCheckGracePeriodSeconds: lb ? 60 : undefined,
          enableExecuteCommand: cfg.ecsExec,
          propagateTags: "SERVICE",
          waitForSteadyState: true,
        },
        o({ dependsOn }),
      );
    const backend = service("backend", cfg.backend.count, [appSg], { tg: backendTg, port: 3000 }, [migrate, https, ...rules]);
    const worker = service("worker", 1, [appSg], undefined, [migrate]);
    const frontend = service("frontend", 1, [frontendSg], { tg: frontendTg, port: 8080 }, [https]);

    // ---- alarms ---------------------------------------------------------------------------
    const topic = new aws.sns.Topic("alerts", { displayName: `FreshTrack ${stack}` }, o());
    new aws.sns.TopicSubscription("alerts-email", { topic: topic.arn, protocol: "email", endpoint: app.operatorEmail }, o());
    // External uptime check: Route 53 health checkers request the public health URL.
    const healthCheck = new aws.route53.HealthCheck(
      "public-health",
      { ...publicHealthCheck(app.domain), referenceName: cloudName("health", 64), tags: { Name: cloudName("health") } },
      o(),
    );
    // Its metric exists only in us-east-1, so its alarm and topic live there too.
    const usEast1 = cfg.region === HEALTH_CHECK_METRIC_REGION ? provider : assetsProvider;
    let healthTopic = topic;
    if (cfg.region !== HEALTH_CHECK_METRIC_REGION) {
      healthTopic = new aws.sns.Topic("alerts-us-east-1", { displayName: `FreshTrack ${stack}` }, { parent: this, provider: usEast1 });
      new aws.sns.TopicSubscription(
        "alerts-us-east-1-email",
        { topic: healthTopic.arn, protocol: "email", endpoint: app.operatorEmail },
        { parent: this, provider: usEast1 },
      );
    }
    const hc = healthCheckAlarmSpec(healthCheck.id);
    new aws.cloudwatch.MetricAlarm(
      `alarm-${hc.name}`,
      {
        name: cloudName(hc.name, 255),
        alarmDescription: hc.description,
        namespace: hc.namespace,
        metricName: hc.metricName,
        dimensions: hc.dimensions,
        statistic: hc.statistic,
        period: hc.period,
        evaluationPeriods: hc.evaluationPeriods,
        threshold: hc.threshold,
        comparisonOperator: hc.comparisonOperator,
        treatMissingData: hc.treatMissingData,
        alarmActions: [healthTopic.arn],
        okActions: [healthTopic.arn],
      },
      { parent: this, provider: usEast1 },
    );
    const specs = alarmSpecs(
      {
        loadBalancer: alb.arnSuffix,
        backendTargetGroup: backendTg.arnSuffix,
        frontendTargetGroup: frontendTg.arnSuffix,
        cluster: cluster.name,
        services: { backend: backend.name, worker: worker.name, frontend: frontend.name },
        dbInstance: db.identifier,
        redisCluster: pulumi.output(`${redisId}-001`),
      },
      { dbAllocatedStorageGb: cfg.dbAllocatedStorageGb, dbMaxConnections: config.data.dbMaxConnections },
    );
    for (const s of specs) {
      new aws.cloudwatch.MetricAlarm(
        `alarm-${s.name}`,
        {
          name: cloudName(s.name, 255),
          alarmDescription: s.description,
          namespace: s.namespace,
          metricName: s.metricName,
          dimensions: s.dimensions,
          statistic: s.statistic,
          period: s.period,
          evaluationPeriods: s.evaluationPeriods,
          threshold: s.threshold,
          comparisonOperator: s.comparisonOperator,
          treatMissingData: s.treatMissingData,
          alarmActions: [topic.arn],
          okActions: [topic.arn],
        },
        o({ dependsOn: [redis] }),
      );
    }

    // ---- logical dumps: scheduled one-off task, pg_dump -> restore check -> backups bucket ----
    // A key only for dumps: the app's credentials cannot decrypt them, and it survives the stack's tasks.
    const dumpKey = new aws.kms.Key(
      "backups",
      { description: `FreshTrack ${stack}: database dumps in the backups bucket`, enableKeyRotation: true, deletionWindowInDays: 30 },
      o({ protect: true }),
    );
    const dumpLogs = new aws.cloudwatch.LogGroup("logs-db-dump", { name: `/freshtrack/${stack}/db-dump`, retentionInDays: cfg.logRetentionDays }, o());
    const dumpTaskRole = new aws.iam.Role(
      "db-dump-task",
      { assumeRolePolicy: assume, description: "FreshTrack db-dump: put dumps into the backups bucket, nothing else" },
      o(),
    );
    new aws.iam.RolePolicy(
      "db-dump-task",
      { role: dumpTaskRole.id, policy: pulumi.all([backupsBucket.arn, dumpKey.arn]).apply(([b, k]) => JSON.stringify(dumpTaskPolicy(b, k))) },
      o(),
    );
    const dumpExecRole = new aws.iam.Role(
      "exec-db-dump",
      { assumeRolePolicy: assume, description: "FreshTrack db-dump: pull, log, read the master password" },
      o(),
    );
    const dumpExecPolicy = new aws.iam.RolePolicy(
      "exec-db-dump",
      {
        role: dumpExecRole.id,
        policy: pulumi
          .all([masterSecretArn, dumpLogs.arn])
          .apply(([m, l]) => JSON.stringify(executionRolePolicy({ secretValueFroms: [`${m}:password::`], logGroupArn: l }))),
      },
      o(),
    );
    const dumpTask = new aws.ecs.TaskDefinition(
      "db-dump",
      {
        family: cloudName("db-dump"),
        cpu: "256",
        memory: "1024",
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { cpuArchitecture: cfg.architecture, operatingSystemFamily: "LINUX" },
        executionRoleArn: dumpExecRole.arn,
        taskRoleArn: dumpTaskRole.arn,
        volumes: [{ name: "dump" }],
        containerDefinitions: pulumi
          .all([
            masterSecretArn,
            db.address,
            backupsBucket.bucket,
            dumpKey.arn,
            digests.pin(dumpClientImage(cfg.dbEngineVersion, app.imageOverrides)),
            digests.pin(imageFor("rclone", app.imageOverrides)),
          ])
          .apply(([m, host, bucket, key, postgresImage, rcloneImage]) =>
            dumpContainerDefinitions({
              postgresImage,
              rcloneImage,
              dbHost: host,
              masterUser: MASTER_USERNAME,
              masterPasswordValueFrom: `${m}:password::`,
              dbName: DB_NAME,
              bucket,
              kmsKeyArn: key,
              region: cfg.region,
              logGroup: `/freshtrack/${stack}/db-dump`,
            }),
          ),
      },
      o({ dependsOn: [dumpExecPolicy] }),
    );
    const schedulerRole = new aws.iam.Role(
      "db-dump-scheduler",
      {
        assumeRolePolicy: identity.accountId.apply((id) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "scheduler.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": id } },
              },
            ],
          }),
        ),
        description: "EventBridge Scheduler: start the FreshTrack db-dump task",
      },
      o(),
    );
    const schedulerRolePolicy = new aws.iam.RolePolicy(
      "db-dump-scheduler",
      {
        role: schedulerRole.id,
        policy: pulumi
          .all([dumpTask.arn.apply((a) => a.replace(/:\d+$/, "")), cluster.arn, dumpExecRole.arn, dumpTaskRole.arn])
          .apply(([td, c, e, t]) => JSON.stringify(schedulerPolicy(td, c, [e, t]))),
      },
      o(),
    );
    new aws.scheduler.Schedule(
      "db-dump",
      {
        name: cloudName("db-dump", 64),
        description: "FreshTrack logical dump (backupSchedule, UTC)",
        scheduleExpression: awsCron(config.data.backupSchedule),
        scheduleExpressionTimezone: "UTC",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: cluster.arn,
          roleArn: schedulerRole.arn,
          ecsParameters: {
            taskDefinitionArn: dumpTask.arn,
            launchType: "FARGATE",
            platformVersion: "1.4.0",
            networkConfiguration: { subnets: taskSubnets.map((s) => s.id), securityGroups: [appSg.id], assignPublicIp },
          },
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        },
      },
      o({ dependsOn: [schedulerRolePolicy] }),
    );
    // Freshness: the upload container logs UPLOAD_MARKER only after the restore check and the upload succeeded.
    new aws.cloudwatch.LogMetricFilter(
      "db-dump-uploaded",
      {
        logGroupName: dumpLogs.name,
        pattern: `"${UPLOAD_MARKER}"`,
        metricTransformation: { namespace: DUMP_METRIC.namespace, name: dumpMetricName(stack), value: "1" },
      },
      o(),
    );
    new aws.cloudwatch.MetricAlarm(
      `alarm-${DUMP_FRESHNESS_ALARM.name}`,
      {
        name: cloudName(DUMP_FRESHNESS_ALARM.name, 255),
        alarmDescription: DUMP_FRESHNESS_ALARM.description,
        namespace: DUMP_METRIC.namespace,
        metricName: dumpMetricName(stack),
        statistic: DUMP_FRESHNESS_ALARM.statistic,
        period: DUMP_FRESHNESS_ALARM.period,
        evaluationPeriods: DUMP_FRESHNESS_ALARM.evaluationPeriods,
        threshold: DUMP_FRESHNESS_ALARM.threshold,
        comparisonOperator: DUMP_FRESHNESS_ALARM.comparisonOperator,
        treatMissingData: DUMP_FRESHNESS_ALARM.treatMissingData,
        alarmActions: [topic.arn],
        okActions: [topic.arn],
      },
      o(),
    );

    // ---- outputs ---------------------------------------------------------------------------
    this.url = pulumi.output(`https://${app.domain}`);
    this.hostAddress = alb.dnsName;
    this.databaseEndpoint = db.endpoint;
    this.dnsRecords = pulumi.all([validation, alb.dnsName]).apply(([v, dns]): DnsRecord[] => [
      {
        type: "CNAME",
        name: v.name,
        value: v.value,
        purpose: cfg.route53ZoneId ? "ACM certificate validation (created in Route 53)" : "ACM certificate validation: create it, keep it (renewals)",
      },
      {
        type: "CNAME",
        name: app.domain,
        value: dns,
        purpose: cfg.route53ZoneId
          ? "the app -> ALB (created in Route 53 as an alias A record)"
          : "the app -> ALB (at a zone apex use your DNS provider's ALIAS/ANAME)",
      },
    ]);
    this.registerOutputs({ url: this.url, hostAddress: this.hostAddress, databaseEndpoint: this.databaseEndpoint, dnsRecords: this.dnsRecords });
  }
}
