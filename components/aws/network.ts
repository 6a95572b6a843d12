// The VPC: public subnets (ALB, and the tasks when there is no NAT), isolated
// subnets with no route out (RDS, ElastiCache) and, with awsNatGateway, private
// subnets behind one NAT gateway for the tasks.
import * as aws from "@pulumi/aws";
import { cloudName } from "../../core/naming";
import { AwsScope } from "./scope";

export interface Network {
  vpc: aws.ec2.Vpc;
  igw: aws.ec2.InternetGateway;
  publicSubnets: aws.ec2.Subnet[];
  isolatedSubnets: aws.ec2.Subnet[];
  /** Where the ECS tasks run: the public subnets, or the private ones behind the NAT gateway. */
  taskSubnets: aws.ec2.Subnet[];
  /** Tasks need a public IP exactly when there is no NAT gateway. */
  assignPublicIp: boolean;
}

export function createNetwork(scope: AwsScope): Network {
  const { cfg, parent, provider } = scope;
  const o = scope.opts;
  const azs = aws.getAvailabilityZonesOutput({ state: "available" }, { parent, provider }).names.apply((n) => n.slice(0, 2));
  const vpc = new aws.ec2.Vpc("vpc", { cidrBlock: "10.40.0.0/16", enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: cloudName("vpc") } }, o());
  const igw = new aws.ec2.InternetGateway("igw", { vpcId: vpc.id }, o());
  const subnet = (kind: string, i: number, cidr: string) =>
    new aws.ec2.Subnet(
      `${kind}-${i}`,
      { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: azs[i], mapPublicIpOnLaunch: false, tags: { Name: cloudName(`${kind}-${i}`) } },
      o(),
    );
  const publicSubnets = [0, 1].map((i) => subnet("public", i, `10.40.${i}.0/24`));
  // Isolated: no route out at all. Only RDS and ElastiCache live here.
  const isolatedSubnets = [0, 1].map((i) => subnet("isolated", i, `10.40.${10 + i}.0/24`));
  const publicRt = new aws.ec2.RouteTable("public", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }] }, o());
  publicSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`public-${i}`, { subnetId: s.id, routeTableId: publicRt.id }, o()));
  const isolatedRt = new aws.ec2.RouteTable("isolated", { vpcId: vpc.id }, o());
  isolatedSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`isolated-${i}`, { subnetId: s.id, routeTableId: isolatedRt.id }, o()));
  let taskSubnets = publicSubnets;
  if (cfg.natGateway) {
    // One NAT (not one per AZ): an AZ outage stops outbound calls, not inbound webhooks' acceptance by the ALB.
    const eip = new aws.ec2.Eip("nat", { domain: "vpc" }, o());
    const nat = new aws.ec2.NatGateway("nat", { allocationId: eip.id, subnetId: publicSubnets[0].id }, o({ dependsOn: [igw] }));
    const privateSubnets = [0, 1].map((i) => subnet("private", i, `10.40.${20 + i}.0/24`));
    const privateRt = new aws.ec2.RouteTable("private", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }] }, o());
    privateSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`private-${i}`, { subnetId: s.id, routeTableId: privateRt.id }, o()));
    taskSubnets = privateSubnets;
  }
  return { vpc, igw, publicSubnets, isolatedSubnets, taskSubnets, assignPublicIp: !cfg.natGateway };
}
