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

type Peer = { cidr: string } | { sg: aws.ec2.SecurityGroup };

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
    new aws.vpc.SecurityGroupIngressRule(
      n,
      {
        securityGroupId: group.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        description,
        ...("cidr" in from ? { cidrIpv4: from.cidr } : { referencedSecurityGroupId: from.sg.id }),
      },
      o(),
    );
  const egress = (n: string, group: aws.ec2.SecurityGroup, port: number, to: Peer, description: string) =>
    new aws.vpc.SecurityGroupEgressRule(
      n,
      {
        securityGroupId: group.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        description,
        ...("cidr" in to ? { cidrIpv4: to.cidr } : { referencedSecurityGroupId: to.sg.id }),
      },
      o(),
    );
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
