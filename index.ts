// FreshTrack Pro: one stack per customer. Read config, create the customer's
// lasting secrets, deploy exactly one target, export what the operator needs.
import * as pulumi from "@pulumi/pulumi";
import { AwsTarget } from "./components/aws";
import { DigitalOceanTarget } from "./components/digitalocean";
import { loadConfig, loadUserSecrets } from "./core/load-config";
import { createLastingSecrets } from "./components/shared/secrets";
import { TargetArgs, TargetOutputs } from "./components/shared/target";
import { VmTarget } from "./components/vm";

const config = loadConfig(); // throws one message naming every bad key, before any resource exists
const args: TargetArgs = { config, secrets: createLastingSecrets(config.data), userSecrets: loadUserSecrets(config) };
const name = pulumi.getStack();

const targets: Record<typeof config.target, () => TargetOutputs> = {
  vm: () => new VmTarget(name, args),
  digitalocean: () => new DigitalOceanTarget(name, args),
  aws: () => new AwsTarget(name, args),
};
const deployed = targets[config.target]();

export const target = config.target;
export const url = deployed.url;
export const hostAddress = deployed.hostAddress;
export const databaseEndpoint = deployed.databaseEndpoint;
export const dnsRecords = deployed.dnsRecords;
