// The adapter between the engine and the pure policies: what @pulumi/policy
// hands a policy (proxied props, unknown sentinels, Asset objects) must reach
// the policies as the plain data the fixtures and plans use.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { normalize, toPulumiPolicy } from "../../policy/lib/pack";
import { isUnknown } from "../../policy/lib/values";
import { bucketPrivateEncrypted } from "../../policy/policies/buckets";
import { imagesPinned } from "../../policy/policies/images";
import { remoteHostKeyPinned } from "../../policy/policies/remote";

const proxy = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy: (o: unknown) => unknown;
  unknownStringValue: unknown;
  UnknownValueError: new (...a: unknown[]) => Error;
};

function resourceArgs(type: string, props: Record<string, unknown>, config: Record<string, unknown> = {}): ResourceValidationArgs {
  return {
    type,
    props: proxy.unknownCheckingProxy(props) as Record<string, unknown>,
    urn: `urn:pulumi:s::freshtrack::${type}::r`,
    name: "r",
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

async function violations(policy: ResourceValidationPolicy, args: ResourceValidationArgs): Promise<string[]> {
  const out: string[] = [];
  const report: ReportViolation = (m) => void out.push(m);
  const fns = ([] as unknown[]).concat(policy.validateResource ?? []) as ((a: ResourceValidationArgs, r: ReportViolation) => Promise<void>)[];
  for (const f of fns) await f(args, report);
  return out;
}

describe("policy engine adapter", () => {
  it("normalize turns an AssetArchive of StringAssets into {$archive: {name: {$asset}}} and sentinels into UNKNOWN", async () => {
    const props = proxy.unknownCheckingProxy({
      source: new pulumi.asset.AssetArchive({
        "compose.yml": new pulumi.asset.StringAsset("services: {}\n"),
        config: new pulumi.asset.AssetArchive({ "a.json": new pulumi.asset.StringAsset("{}") }),
      }),
      host: proxy.unknownStringValue,
      nested: [{ k: proxy.unknownStringValue }],
    });
    const plain = (await normalize(props)) as Record<string, unknown>;
    assert.deepEqual(plain.source, { $archive: { "compose.yml": { $asset: "services: {}\n" }, config: { $archive: { "a.json": { $asset: "{}" } } } } });
    assert.ok(isUnknown(plain.host));
    assert.ok(isUnknown((plain.nested as Record<string, unknown>[])[0].k));
  });

  it("a CopyToRemote whose compose file uses :latest is reported through the engine interface, with the fix", async () => {
    const policy = toPulumiPolicy(imagesPinned) as ResourceValidationPolicy;
    const args = resourceArgs("command:remote:CopyToRemote", {
      connection: { host: "h", hostKey: "ssh-ed25519 AAAA" },
      source: new pulumi.asset.AssetArchive({ "compose.yml": new pulumi.asset.StringAsset("services:\n  caddy:\n    image: caddy:latest\n") }),
    });
    const got = await violations(policy, args);
    assert.equal(got.length, 1);
    assert.match(got[0], /service caddy image "caddy:latest" uses the moving tag :latest\. Fix: Pin the image/);
    assert.equal(policy.enforcementLevel, "mandatory");
    assert.match(policy.remediationSteps ?? "", /Pin the image/);
  });

  it("an unknown host key during preview is not a violation; a missing one is", async () => {
    const policy = toPulumiPolicy(remoteHostKeyPinned) as ResourceValidationPolicy;
    assert.deepEqual(await violations(policy, resourceArgs("command:remote:Command", { connection: { host: "h", hostKey: proxy.unknownStringValue } })), []);
    assert.equal((await violations(policy, resourceArgs("command:remote:Command", { connection: { host: "h" } }))).length, 1);
    // A type the policy does not cover is ignored.
    assert.deepEqual(await violations(policy, resourceArgs("aws:s3/bucket:Bucket", { connection: {} })), []);
  });

  it("the stack policy correlates a bucket with its public access block by property dependency (unknown ids at preview)", async () => {
    const policy = toPulumiPolicy(bucketPrivateEncrypted) as StackValidationPolicy;
    const mk = (type: string, name: string, props: Record<string, unknown>, deps: Record<string, string> = {}) => ({
      type,
      name,
      urn: `urn:${name}:${type}`,
      props: proxy.unknownCheckingProxy(props) as Record<string, unknown>,
      opts: {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
      },
      dependencies: [],
      propertyDependencies: Object.fromEntries(Object.entries(deps).map(([k, urn]) => [k, [{ urn }]])) as never,
      isType: () => false,
      asType: () => undefined,
    });
    const bucket = mk("aws:s3/bucket:Bucket", "assets", { bucket: "ft-assets" });
    const pab = mk(
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "assets",
      { bucket: proxy.unknownStringValue, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { bucket: bucket.urn },
    );
    const sse = mk(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "assets",
      { bucket: proxy.unknownStringValue, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] },
      { bucket: bucket.urn },
    );
    const run = async (resources: unknown[]) => {
      const out: { m: string; urn?: string }[] = [];
      const args: StackValidationArgs = {
        resources: resources as never,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (): never => {
          throw new Error("n/a");
        },
      };
      await policy.validateStack(args, (m, urn) => void out.push({ m, urn }));
      return out;
    };
    assert.deepEqual(await run([bucket, pab, sse]), []);
    const missing = await run([bucket, sse]);
    assert.equal(missing.length, 1);
    assert.equal(missing[0].urn, bucket.urn);
    assert.match(missing[0].m, /has no BucketPublicAccessBlock/);
  });
});
