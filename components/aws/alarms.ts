// Pure CloudWatch alarm specifications. Generic in the dimension value type so
// the component can pass Outputs (ARN suffixes, ids) and tests plain strings.
// Every alarm states how missing data counts: an alarm that always fires (say, on
// a metric AWS publishes only on failure) trains people to ignore the pager.

export interface AlarmSpec<V> {
  name: string;
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, V>;
  statistic: "Average" | "Sum" | "Minimum" | "Maximum";
  period: number;
  evaluationPeriods: number;
  threshold: number;
  comparisonOperator: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold";
  treatMissingData: "notBreaching" | "breaching" | "missing";
}

export interface AlarmTargets<V> {
  loadBalancer: V;
  backendTargetGroup: V;
  frontendTargetGroup: V;
  cluster: V;
  services: { backend: V; worker: V; frontend: V };
  dbInstance: V;
  redisCluster: V;
}

export interface AlarmSizes {
  dbAllocatedStorageGb: number;
  dbMaxConnections: number;
}

export function alarmSpecs<V>(t: AlarmTargets<V>, sizes: AlarmSizes): AlarmSpec<V>[] {
  const specs: AlarmSpec<V>[] = [
    {
      name: "alb-target-5xx",
      description: "Backend/frontend answered 5xx: webhooks may be refused and readings lost.",
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_Target_5XX_Count",
      dimensions: { LoadBalancer: t.loadBalancer },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 10,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching", // no requests, no datapoints: not an error
    },
    {
      name: "alb-elb-5xx",
      description: "The load balancer itself answered 5xx (no healthy target, timeouts).",
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_ELB_5XX_Count",
      dimensions: { LoadBalancer: t.loadBalancer },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 10,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    },
  ];
  for (const [svc, tg] of [
    ["backend", t.backendTargetGroup],
    ["frontend", t.frontendTargetGroup],
  ] as const) {
    specs.push({
      name: `${svc}-unhealthy-hosts`,
      description: `A ${svc} target fails its health check.`,
      namespace: "AWS/ApplicationELB",
      metricName: "UnHealthyHostCount",
      dimensions: { LoadBalancer: t.loadBalancer, TargetGroup: tg },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 3,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    specs.push({
      name: `${svc}-no-healthy-hosts`,
      description: `No healthy ${svc} target: ${svc === "backend" ? "TTN webhooks are refused, readings are being lost" : "the app does not load"}.`,
      namespace: "AWS/ApplicationELB",
      metricName: "HealthyHostCount",
      dimensions: { LoadBalancer: t.loadBalancer, TargetGroup: tg },
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: 2,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      // The ALB publishes this every minute for an attached group: silence means it is gone.
      treatMissingData: "breaching",
    });
  }
  for (const svc of ["backend", "worker", "frontend"] as const) {
    for (const metric of ["CPUUtilization", "MemoryUtilization"] as const) {
      specs.push({
        name: `${svc}-${metric === "CPUUtilization" ? "cpu" : "memory"}`,
        description: `${svc} ${metric === "CPUUtilization" ? "CPU" : "memory"} above 85% of the task size for 15 minutes: raise aws${svc[0].toUpperCase()}${svc.slice(1)}${metric === "CPUUtilization" ? "Cpu" : "Memory"}.`,
        namespace: "AWS/ECS",
        metricName: metric,
        dimensions: { ClusterName: t.cluster, ServiceName: t.services[svc] },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: 85,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "missing",
      });
    }
  }
  specs.push(
    {
      name: "rds-cpu",
      description: "Database CPU above 80% for 15 minutes (t4g credits may run out).",
      namespace: "AWS/RDS",
      metricName: "CPUUtilization",
      dimensions: { DBInstanceIdentifier: t.dbInstance },
      statistic: "Average",
      period: 300,
      evaluationPeriods: 3,
      threshold: 80,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "missing",
    },
    {
      name: "rds-free-storage",
      description: "Database free storage below 20%: readings stop being written when it is full.",
      namespace: "AWS/RDS",
      metricName: "FreeStorageSpace",
      dimensions: { DBInstanceIdentifier: t.dbInstance },
      statistic: "Minimum",
      period: 300,
      evaluationPeriods: 1,
      threshold: Math.round(sizes.dbAllocatedStorageGb * 0.2 * 1024 ** 3),
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "missing",
    },
    {
      name: "rds-connections",
      description: "Database connections above 80% of max_connections.",
      namespace: "AWS/RDS",
      metricName: "DatabaseConnections",
      dimensions: { DBInstanceIdentifier: t.dbInstance },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 2,
      threshold: Math.floor(sizes.dbMaxConnections * 0.8),
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "missing",
    },
    {
      name: "redis-memory",
      description: "Redis memory above 80%: with noeviction, queue writes fail when it is full.",
      namespace: "AWS/ElastiCache",
      metricName: "DatabaseMemoryUsagePercentage",
      dimensions: { CacheClusterId: t.redisCluster },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 2,
      threshold: 80,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "missing",
    },
  );
  return specs;
}

/**
 * The external uptime check: Route 53 health checkers (in several AWS regions,
 * outside our VPC) request https://<domain>/health/ready, which answers 200 only
 * when the backend reaches its database. It notices what the ALB's own metrics
 * cannot: DNS, the certificate or the whole load balancer being unreachable.
 */
export interface HealthCheckSpec {
  type: "HTTPS";
  fqdn: string;
  port: number;
  resourcePath: string;
  enableSni: boolean;
  requestInterval: 10 | 30;
  failureThreshold: number;
  measureLatency: boolean;
}

export function publicHealthCheck(domain: string): HealthCheckSpec {
  return {
    type: "HTTPS",
    fqdn: domain,
    port: 443,
    resourcePath: "/health/ready",
    enableSni: true,
    requestInterval: 30,
    failureThreshold: 3,
    measureLatency: false,
  };
}

/** Route 53 publishes health-check metrics only in us-east-1: the alarm (and the topic it notifies) must live there. */
export const HEALTH_CHECK_METRIC_REGION = "us-east-1";

export function healthCheckAlarmSpec<V>(healthCheckId: V): AlarmSpec<V> {
  return {
    name: "public-health-check",
    description:
      "https://<domain>/health/ready fails from Route 53's health checkers, outside this stack's network: users and TTN webhooks cannot reach the app.",
    namespace: "AWS/Route53",
    metricName: "HealthCheckStatus",
    dimensions: { HealthCheckId: healthCheckId },
    statistic: "Minimum",
    period: 60,
    evaluationPeriods: 2,
    threshold: 1,
    comparisonOperator: "LessThanThreshold",
    // Route 53 publishes every minute while the check exists: silence is a failure too.
    treatMissingData: "breaching",
  };
}
