// S3: the assets bucket (customers' files, in ASSETS_REGION, reached by the app
// with the static keys of an IAM user limited to it) and the backups bucket
// (the dumps: versioned, Object Lock, expired after backupRetentionDays).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudName } from "../../core/naming";
import { assetsBucketUserPolicy } from "./iam-policies";
import { AwsScope } from "./scope";

export interface Buckets {
  assets: aws.s3.Bucket;
  backups: aws.s3.Bucket;
  /** The app's S3 access key (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD): this one bucket only. */
  assetsKey: aws.iam.AccessKey;
}

export function createBuckets(scope: AwsScope): Buckets {
  const { parent, provider, assetsProvider, identity, config } = scope;
  const o = scope.opts;
  const bucketBasics = (n: string, bucketName: pulumi.Input<string>, p: aws.Provider) => {
    // protect: assets are customers' files, backups their history; deleting takes an explicit unprotect.
    const bucket = new aws.s3.Bucket(n, { bucket: bucketName, forceDestroy: false }, { parent, provider: p, protect: true });
    const pab = new aws.s3.BucketPublicAccessBlock(
      n,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { parent, provider: p },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      n,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
      { parent, provider: p },
    );
    new aws.s3.BucketVersioning(n, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, { parent, provider: p });
    new aws.s3.BucketOwnershipControls(n, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent, provider: p });
    new aws.s3.BucketPolicy(
      n,
      {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "TlsOnly",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
      { parent, provider: p, dependsOn: [pab] },
    );
    return bucket;
  };
  const assetsBucket = bucketBasics("assets", pulumi.interpolate`${cloudName("assets", 46)}-${identity.accountId}`, assetsProvider);
  new aws.s3.BucketCorsConfiguration(
    "assets",
    {
      bucket: assetsBucket.id,
      corsRules: [
        {
          allowedOrigins: [`https://${config.app.domain}`],
          allowedMethods: ["GET", "HEAD", "PUT", "POST"],
          allowedHeaders: ["*"],
          exposeHeaders: ["ETag"],
          maxAgeSeconds: 3000,
        },
      ],
    },
    { parent, provider: assetsProvider },
  );
  new aws.s3.BucketLifecycleConfiguration(
    "assets",
    {
      bucket: assetsBucket.id,
      rules: [
        {
          id: "tidy",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          noncurrentVersionExpiration: { noncurrentDays: 30 },
        },
      ],
    },
    { parent, provider: assetsProvider },
  );
  const backupsBucket = bucketBasics("backups", pulumi.interpolate`${cloudName("backups", 46)}-${identity.accountId}`, provider);
  new aws.s3.BucketLifecycleConfiguration(
    "backups",
    {
      bucket: backupsBucket.id,
      rules: [
        {
          id: "retention",
          status: "Enabled",
          filter: {},
          expiration: { days: config.data.backupRetentionDays },
          // A deleted/overwritten dump stays recoverable for a week, then goes.
          noncurrentVersionExpiration: { noncurrentDays: 7 },
          abortIncompleteMultipartUpload: { daysAfterInitiation: 2 },
        },
      ],
    },
    o(),
  );
  // Object Lock (governance) on the versioned backups bucket: no version can be deleted or overwritten for
  // backupRetentionDays, except by an admin who explicitly bypasses governance retention.
  new aws.s3.BucketObjectLockConfiguration(
    "backups",
    { bucket: backupsBucket.id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: "GOVERNANCE", days: config.data.backupRetentionDays } } },
    o(),
  );
  // Static keys, because the app speaks S3 with an access key (docs/app-contract.md): a user that can touch this one bucket.
  const assetsUser = new aws.iam.User("assets", { name: cloudName("assets-s3", 64), path: "/freshtrack/" }, o());
  new aws.iam.UserPolicy("assets", { user: assetsUser.name, policy: assetsBucket.arn.apply((arn) => JSON.stringify(assetsBucketUserPolicy(arn))) }, o());
  const assetsKey = new aws.iam.AccessKey("assets", { user: assetsUser.name }, o());
  return { assets: assetsBucket, backups: backupsBucket, assetsKey };
}
