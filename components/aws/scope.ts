// What every AWS resource helper shares: the component its resources belong to,
// the providers, the parsed settings and the deploying account. AwsTarget builds
// it once (createScope) and hands it to each create* function.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, FreshtrackConfig } from "../../core/config";
import { baseTags } from "../../core/naming";
import { ASSETS_REGION } from "./constants";

export interface AwsScope {
  /** The AwsTarget component: the parent of every resource. */
  parent: pulumi.ComponentResource;
  /** The stack's region (awsRegion). */
  provider: aws.Provider;
  /** ASSETS_REGION (us-east-1): `provider` itself when the stack is there. */
  assetsProvider: aws.Provider;
  config: FreshtrackConfig;
  cfg: AwsSettings;
  stack: string;
  /** The account `pulumi up` deploys into. */
  identity: pulumi.Output<aws.GetCallerIdentityResult>;
  /** Options of a resource in the stack's region: parented under the target, plus `extra`. */
  opts(extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions;
}

/** The providers (the stack's region and, when different, us-east-1) and the caller identity. */
export function createScope(parent: pulumi.ComponentResource, config: FreshtrackConfig, cfg: AwsSettings): AwsScope {
  const provider = new aws.Provider("aws", { region: cfg.region as aws.Region, defaultTags: { tags: baseTags("aws") } }, { parent });
  const assetsProvider =
    cfg.region === ASSETS_REGION ? provider : new aws.Provider("aws-assets", { region: ASSETS_REGION, defaultTags: { tags: baseTags("aws") } }, { parent });
  const identity = aws.getCallerIdentityOutput({}, { parent, provider });
  return {
    parent,
    provider,
    assetsProvider,
    config,
    cfg,
    stack: pulumi.getStack(),
    identity,
    opts: (extra: pulumi.CustomResourceOptions = {}) => ({ parent, provider, ...extra }),
  };
}
