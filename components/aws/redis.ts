// ElastiCache (Valkey) for BullMQ and the socket.io adapter: one node in the
// isolated subnets, noeviction, TLS in transit, AUTH token = the stack's lasting
// Redis password, daily snapshots.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudName } from "../../core/naming";
import { LastingSecrets } from "../shared/secrets";
import { REDIS_PORT } from "./connection-urls";
import { Network } from "./network";
import { AwsScope } from "./scope";
import { SecurityGroups } from "./security-groups";

export interface Redis {
  redis: aws.elasticache.ReplicationGroup;
  /** The replication group id; its one node is `<id>-001` (the memory alarm's dimension). */
  redisId: string;
}

export function createRedis(scope: AwsScope, network: Network, groups: SecurityGroups, secrets: LastingSecrets): Redis {
  const { cfg } = scope;
  const o = scope.opts;
  const redisSubnets = new aws.elasticache.SubnetGroup("redis", { subnetIds: network.isolatedSubnets.map((s) => s.id), description: "FreshTrack Redis" }, o());
  const redisParams = new aws.elasticache.ParameterGroup(
    "redis",
    {
      family: "valkey8",
      description: "FreshTrack: BullMQ and socket.io must never lose keys",
      parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
    },
    o(),
  );
  const redisId = cloudName("redis", 40);
  const redis = new aws.elasticache.ReplicationGroup(
    "redis",
    {
      replicationGroupId: redisId,
      description: "FreshTrack queues and socket.io adapter",
      engine: "valkey",
      engineVersion: "8.0",
      nodeType: cfg.redisNodeType,
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      port: REDIS_PORT,
      parameterGroupName: redisParams.name,
      subnetGroupName: redisSubnets.name,
      securityGroupIds: [groups.redis.id],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      authToken: pulumi.secret(secrets.redisPassword),
      // ElastiCache has no AOF: daily snapshots are the persistence (docs/aws.md).
      snapshotRetentionLimit: 7,
      snapshotWindow: "02:00-03:00",
      applyImmediately: true,
    },
    o(),
  );
  return { redis, redisId };
}
