// Security groups, with each rule a separate resource (one rule, one diff):
// the ALB takes HTTP/HTTPS from anywhere; the tasks accept only the ALB and send
// only HTTPS out, plus (the app group) PostgreSQL and Redis to the data stores;
// RDS and ElastiCache accept only the app group.
import * as aws from "@pulumi/aws";
import { cloudName } from "../../core/naming";
import { PG_PORT, REDIS_PORT } from "./connection-urls";
import { Network } from "./network";
import { AwsScope } from "./scope";

export interface SecurityGroups {
  alb: aws.ec2.SecurityGroup;
  /** Backend, worker and the one-off tasks (db-setup, migrate, db-dump). */
  app: aws.ec2.SecurityGroup;
  frontend: aws.ec2.SecurityGroup;
  db: aws.ec2.SecurityGroup;
  redis: aws.ec2.SecurityGroup;
}

export type Peer = { cidr: string } | { sg: aws.ec2.SecurityGroup };

/** One TCP port, one peer: each rule its own resource (one rule, one diff). */
export function securityGroupRule(
  scope: AwsScope,
  kind: "ingress" | "egress",
  n: string,
  group: aws.ec2.SecurityGroup,
  port: number,
  peer: Peer,
  description: string,
): aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule {
  const args = {
    securityGroupId: group.id,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
    description,
    ...("cidr" in peer ? { cidrIpv4: peer.cidr } : { referencedSecurityGroupId: peer.sg.id }),
  };
  return kind === "ingress" ? new aws.vpc.SecurityGroupIngressRule(n, args, scope.opts()) : new aws.vpc.SecurityGroupEgressRule(n, args, scope.opts());
}

export function createSecurityGroups(scope: AwsScope, network: Network): SecurityGroups {
  const o = scope.opts;
  const { vpc } = network;
  const sg = (n: string, description: string) => new aws.ec2.SecurityGroup(n, { vpcId: vpc.id, description, tags: { Name: cloudName(n) } }, o());
  const albSg = sg("alb", "FreshTrack ALB: HTTP/HTTPS from anywhere");
  const appSg = sg("app", "FreshTrack backend, worker and one-off tasks");
  const frontendSg = sg("frontend", "FreshTrack frontend tasks");
  const dbSg = sg("db", "FreshTrack RDS: from app tasks only");
  const redisSg = sg("redis", "FreshTrack ElastiCache: from app tasks only");
  const ingress = (n: string, group: aws.ec2.SecurityGroup, port: number, from: Peer, description: string) =>
    securityGroupRule(scope, "ingress", n, group, port, from, description);
  const egress = (n: string, group: aws.ec2.SecurityGroup, port: number, to: Peer, description: string) =>
    securityGroupRule(scope, "egress", n, group, port, to, description);
  ingress("alb-http", albSg, 80, { cidr: "0.0.0.0/0" }, "HTTP (redirected to HTTPS)");
  ingress("alb-https", albSg, 443, { cidr: "0.0.0.0/0" }, "HTTPS");
  egress("alb-to-backend", albSg, 3000, { sg: appSg }, "to backend tasks");
  egress("alb-to-frontend", albSg, 8080, { sg: frontendSg }, "to frontend tasks");
  ingress("backend-from-alb", appSg, 3000, { sg: albSg }, "backend from the ALB only");
  ingress("frontend-from-alb", frontendSg, 8080, { sg: albSg }, "frontend from the ALB only");
  // Outbound: HTTPS (images, AWS APIs, TTN, Stripe, Resend, Telnyx, Sentry) and the two data stores.
  egress("app-https", appSg, 443, { cidr: "0.0.0.0/0" }, "HTTPS out");
  egress("app-to-db", appSg, PG_PORT, { sg: dbSg }, "PostgreSQL");
  egress("app-to-redis", appSg, REDIS_PORT, { sg: redisSg }, "Redis");
  egress("frontend-https", frontendSg, 443, { cidr: "0.0.0.0/0" }, "image pulls and logs");
  ingress("db-from-app", dbSg, PG_PORT, { sg: appSg }, "PostgreSQL from app tasks");
  ingress("redis-from-app", redisSg, REDIS_PORT, { sg: appSg }, "Redis from app tasks");
  return { alb: albSg, app: appSg, frontend: frontendSg, db: dbSg, redis: redisSg };
}
