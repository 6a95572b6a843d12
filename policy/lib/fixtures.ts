// A small hand-built stack touching every type the pack checks, written to pass
// every policy. Tests break one property of a copy and expect exactly one
// violation; the shapes follow the provider SDK input types (aws 7.48.0,
// digitalocean 4.80.1, command 1.2.1).
import type { Res } from "./types";

const res = (type: string, name: string, props: Record<string, unknown>, extra: Partial<Res> = {}): Res => ({
  type,
  name,
  key: `${type}::${name}`,
  props,
  id: `${name}-id`,
  arn: `arn:aws:mock:us-east-1:123456789012:${name}`,
  ...extra,
});

export const FIXTURE_CONFIG = { "ingress-restricted": { sshCidrs: ["198.51.100.7/32"] } };

export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq0Yq3mR5m6m0qS5hD9l0b2mE1bqQ1w7zK3p0nq7x8Y";

export const COMPOSE_YML = `name: freshtrack
services:
  backend:
    image: ghcr.io/frostguard/frostguard-backend:1.8.2
  caddy:
    image: caddy:2.10.2-alpine
  redis:
    image: valkey/valkey:8.1.3-alpine@sha256:${"a".repeat(64)}
`;
export const COMPOSE_PROD_YML = `services:
  backend:
    restart: unless-stopped
    ports: !reset []
`;

export function containerDefinitions(over: { image?: string; environment?: { name: string; value: string }[] } = {}): string {
  return JSON.stringify([
    {
      name: "backend",
      image: over.image ?? "123456789012.dkr.ecr.us-east-1.amazonaws.com/frostguard-backend:1.8.2",
      environment: over.environment ?? [
        { name: "LOG_LEVEL", value: "info" },
        { name: "STACK_AUTH_PUBLISHABLE_KEY", value: "pck_public" },
        { name: "MINIO_ENDPOINT", value: "https://s3.us-east-1.amazonaws.com" },
      ],
      secrets: [{ name: "DATABASE_URL", valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db" }],
    },
  ]);
}

export function fixtureStack(): Res[] {
  return [
    res("aws:ecs/taskDefinition:TaskDefinition", "backend", { family: "ft-backend", cpu: "512", memory: "1024", containerDefinitions: containerDefinitions() }),
    res(
      "aws:rds/instance:Instance",
      "db",
      {
        engine: "postgres",
        instanceClass: "db.t4g.micro",
        allocatedStorage: 20,
        storageEncrypted: true,
        publiclyAccessible: false,
        backupRetentionPeriod: 30,
        deletionProtection: true,
        finalSnapshotIdentifier: "ft-db-final",
      },
      { protect: true },
    ),
    res("aws:lb/listener:Listener", "http", {
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
    }),
    res("aws:lb/listener:Listener", "https", {
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      certificateArn: "arn:cert",
      defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }],
    }),
    res("aws:lb/listenerRule:ListenerRule", "to-backend-api", {
      listenerArn: "arn:aws:mock:us-east-1:123456789012:https",
      priority: 100,
      actions: [{ type: "forward", targetGroupArn: "arn:tg" }],
      conditions: [{ pathPattern: { values: ["/api/*"] } }],
    }),
    res("aws:ec2/securityGroup:SecurityGroup", "alb", {
      ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
    }),
    res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "alb-http", {
      securityGroupId: "alb-id",
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "0.0.0.0/0",
    }),
    res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-app", {
      securityGroupId: "db-id",
      ipProtocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
      referencedSecurityGroupId: "app-id",
    }),
    res("aws:ec2/securityGroupRule:SecurityGroupRule", "all-from-vpc", {
      type: "ingress",
      securityGroupId: "app-id",
      protocol: "-1",
      fromPort: 0,
      toPort: 0,
      cidrBlocks: ["10.40.0.0/16"],
    }),
    res("aws:ec2/securityGroupRule:SecurityGroupRule", "redis-from-vpc", {
      type: "ingress",
      securityGroupId: "redis-id",
      protocol: "tcp",
      fromPort: 6379,
      toPort: 6379,
      cidrBlocks: ["10.0.0.0/16"],
    }),
    res("aws:s3/bucket:Bucket", "assets", { bucket: "ft-assets" }, { protect: true }),
    res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "assets", {
      bucket: "assets-id",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }),
    res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "assets", {
      bucket: "assets-id",
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    }),
    res("aws:cloudwatch/logGroup:LogGroup", "logs-backend", { name: "/freshtrack/backend", retentionInDays: 30 }),
    res(
      "digitalocean:index/databaseCluster:DatabaseCluster",
      "db",
      { engine: "pg", version: "16", size: "db-s-1vcpu-1gb", region: "fra1", nodeCount: 1, privateNetworkUuid: "vpc-id" },
      { protect: true },
    ),
    res("digitalocean:index/databaseFirewall:DatabaseFirewall", "db", { clusterId: "db-id", rules: [{ type: "droplet", value: "app-id" }] }),
    res("digitalocean:index/firewall:Firewall", "app", {
      dropletIds: ["app-id"],
      inboundRules: [
        { protocol: "tcp", portRange: "22", sourceAddresses: ["198.51.100.7/32"] },
        { protocol: "tcp", portRange: "80", sourceAddresses: ["0.0.0.0/0", "::/0"] },
        { protocol: "tcp", portRange: "443", sourceAddresses: ["0.0.0.0/0", "::/0"] },
      ],
      outboundRules: [{ protocol: "tcp", portRange: "all", destinationAddresses: ["0.0.0.0/0", "::/0"] }],
    }),
    res("digitalocean:index/droplet:Droplet", "app", {
      image: "ubuntu-24-04-x64",
      size: "s-2vcpu-4gb",
      region: "fra1",
      userData:
        "#cloud-config\nssh_authorized_keys:\n  - ssh-ed25519 AAAAC3Nza deploy\nruncmd:\n  - [sh, -c, 'echo APP_DIR=/opt/freshtrack > /etc/freshtrack.env']\n",
    }),
    res("digitalocean:index/spacesBucket:SpacesBucket", "backups", { name: "ft-backups", region: "fra1", acl: "private" }),
    res("command:remote:Command", "write-secrets", {
      connection: { host: "203.0.113.10", port: 22, user: "root", privateKey: "KEY", hostKey: HOST_KEY },
      create: "bin/write-secrets",
      stdin: "app/JWT_SECRET 1001 c2VjcmV0\n",
      logging: "none",
    }),
    res("command:remote:Command", "deploy", {
      connection: { host: "203.0.113.10", port: 22, user: "root", privateKey: "KEY", hostKey: HOST_KEY },
      create: "bin/deploy",
      environment: { APP_DIR: "/opt/freshtrack" },
      logging: "stdoutAndStderr",
    }),
    res("command:remote:CopyToRemote", "copy-bundle", {
      connection: { host: "203.0.113.10", port: 22, user: "root", privateKey: "KEY", hostKey: HOST_KEY },
      remotePath: "/opt/freshtrack/releases/abc",
      source: {
        $archive: {
          "compose.yml": { $asset: COMPOSE_YML },
          "compose.prod.yml": { $asset: COMPOSE_PROD_YML },
          "release.json": { $asset: JSON.stringify({ target: "vm", images: { caddy: "caddy:2.10.2-alpine" } }) },
        },
      },
    }),
  ];
}
