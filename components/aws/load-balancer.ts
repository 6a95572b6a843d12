// The internet-facing ALB: its two target groups (backend, frontend), and its
// listeners — HTTPS with the path rules of routing.ts (backend paths -> backend,
// everything else -> frontend), HTTP only redirecting to HTTPS.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALB_IDLE_TIMEOUT, SSL_POLICY } from "./constants";
import { Network } from "./network";
import { listenerRules } from "./routing";
import { AwsScope } from "./scope";
import { SecurityGroups } from "./security-groups";
import { awsAppServices } from "./task-specs";

export interface LoadBalancer {
  alb: aws.lb.LoadBalancer;
  backendTg: aws.lb.TargetGroup;
  frontendTg: aws.lb.TargetGroup;
}

export interface Listeners {
  https: aws.lb.Listener;
  /** The HTTPS listener's path rules to the backend. */
  rules: aws.lb.ListenerRule[];
}

export function createLoadBalancer(scope: AwsScope, network: Network, groups: SecurityGroups): LoadBalancer {
  const o = scope.opts;
  const alb = new aws.lb.LoadBalancer(
    "alb",
    {
      loadBalancerType: "application",
      internal: false,
      subnets: network.publicSubnets.map((s) => s.id),
      securityGroups: [groups.alb.id],
      idleTimeout: ALB_IDLE_TIMEOUT,
      dropInvalidHeaderFields: true,
    },
    // An internet-facing ALB cannot be created in a VPC without its gateway.
    o({ dependsOn: [network.igw] }),
  );
  const backendSvc = awsAppServices(scope.config.app, "x").backend; // model values that do not depend on the bucket name
  const targetGroup = (n: "backend" | "frontend", port: number, path: string, deregistrationDelay: number, sticky: boolean) =>
    new aws.lb.TargetGroup(
      n,
      {
        port,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: network.vpc.id,
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
  return { alb, backendTg, frontendTg };
}

export function createListeners(scope: AwsScope, lb: LoadBalancer, certificateArn: pulumi.Output<string>): Listeners {
  const o = scope.opts;
  const https = new aws.lb.Listener(
    "https",
    {
      loadBalancerArn: lb.alb.arn,
      port: 443,
      protocol: "HTTPS",
      sslPolicy: SSL_POLICY,
      certificateArn,
      defaultActions: [{ type: "forward", targetGroupArn: lb.frontendTg.arn }],
    },
    o(),
  );
  new aws.lb.Listener(
    "http",
    {
      loadBalancerArn: lb.alb.arn,
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
          actions: [{ type: "forward", targetGroupArn: lb.backendTg.arn }],
        },
        o(),
      ),
  );
  return { https, rules };
}
