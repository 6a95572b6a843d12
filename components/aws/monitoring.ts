// Alarms and where they go: an SNS topic mailing operatorEmail, a Route 53 health
// check of the public health URL (its alarm and topic live in us-east-1, the only
// region with its metric), and the CloudWatch alarms of alarms.ts (pure specs)
// over the ALB, the services, RDS and Redis.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudName } from "../../core/naming";
import { HEALTH_CHECK_METRIC_REGION, alarmSpecs, healthCheckAlarmSpec, publicHealthCheck } from "./alarms";
import { Cluster } from "./cluster";
import { Database } from "./database";
import { LoadBalancer } from "./load-balancer";
import { metricAlarm } from "./metric-alarm";
import { Redis } from "./redis";
import { AwsScope } from "./scope";
import { Services } from "./services";

export interface AlarmInputs {
  lb: LoadBalancer;
  cluster: Cluster;
  services: Services;
  database: Database;
  redis: Redis;
  /**
   * Names of alarms (alarms.ts) that notify nobody: a move's new side keeps its backend at 0 tasks
   * until the cutover (and a rolled-back one at 0), so "no healthy backend" is expected there.
   */
  quiet?: string[];
}

/** The topics alarms mail the operator through. */
export interface AlarmTopics {
  /** In the stack's region. */
  topic: aws.sns.Topic;
  /** In us-east-1 (ASSETS_REGION): `topic` itself when the stack is there. */
  usEast1Topic: aws.sns.Topic;
}

export function createAlarms(scope: AwsScope, a: AlarmInputs): AlarmTopics {
  const { cfg, config, stack, parent, provider, assetsProvider } = scope;
  const app = config.app;
  const o = scope.opts;
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
    healthTopic = new aws.sns.Topic("alerts-us-east-1", { displayName: `FreshTrack ${stack}` }, { parent, provider: usEast1 });
    new aws.sns.TopicSubscription(
      "alerts-us-east-1-email",
      { topic: healthTopic.arn, protocol: "email", endpoint: app.operatorEmail },
      { parent, provider: usEast1 },
    );
  }
  metricAlarm(healthCheckAlarmSpec(healthCheck.id), healthTopic.arn, { parent, provider: usEast1 });
  const specs = alarmSpecs(
    {
      loadBalancer: a.lb.alb.arnSuffix,
      backendTargetGroup: a.lb.backendTg.arnSuffix,
      frontendTargetGroup: a.lb.frontendTg.arnSuffix,
      cluster: a.cluster.cluster.name,
      services: { backend: a.services.backend.name, worker: a.services.worker.name, frontend: a.services.frontend.name },
      dbInstance: a.database.db.identifier,
      redisCluster: pulumi.output(`${a.redis.redisId}-001`),
    },
    { dbAllocatedStorageGb: cfg.dbAllocatedStorageGb, dbMaxConnections: config.data.dbMaxConnections },
  );
  for (const s of specs) metricAlarm(s, topic.arn, o({ dependsOn: [a.redis.redis] }), a.quiet?.includes(s.name));
  return { topic, usEast1Topic: healthTopic };
}
