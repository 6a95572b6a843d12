// bucket-private-encrypted (stack policy): in aws v7 a bucket's public access
// block and default encryption are separate resources, so only the whole stack
// shows whether a bucket has them. Buckets hold uploaded assets and encrypted
// database dumps: never public, always encrypted at rest.
import { definePolicy, Res, StackViolation } from "../lib/types";
import { asArray, asRecord, isUnknown, str } from "../lib/values";

export const TYPES = {
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  sseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  bucketAcl: "aws:s3/bucketAcl:BucketAcl",
  spacesBucket: "digitalocean:index/spacesBucket:SpacesBucket",
};

export const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
export const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];
const PUBLIC_ACL = /^public-|authenticated-read/;

/** Does `dep`'s `prop` name `bucket`? By recorded dependency (engine, new buckets) or by value (plans, existing buckets). */
export function refersTo(dep: Res, prop: string, bucket: Res): boolean {
  if ((dep.propertyDependencies?.[prop] ?? []).includes(bucket.key)) return true;
  const v = dep.props[prop];
  if (typeof v !== "string" || v === "") return false;
  return [bucket.id, bucket.props.id, bucket.props.bucket].some((x) => typeof x === "string" && x === v);
}

function encrypts(rules: unknown): boolean {
  return asArray(rules).some((x) => {
    const alg = str(asRecord(asRecord(x).applyServerSideEncryptionByDefault).sseAlgorithm);
    return isUnknown(alg) || (typeof alg === "string" && SSE_ALGORITHMS.includes(alg));
  });
}

export const bucketPrivateEncrypted = definePolicy({
  name: "bucket-private-encrypted",
  description: "Every S3 bucket has a public access block with all four flags on and default server-side encryption; no bucket or Space has a public ACL.",
  enforcementLevel: "mandatory",
  why: "Buckets hold customers' uploads and the database dumps: a public bucket leaks all of it at once, and S3 will not warn.",
  remediation:
    'For each aws.s3.Bucket add aws.s3.BucketPublicAccessBlock {bucket: b.id, blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets: true} and aws.s3.BucketServerSideEncryptionConfiguration {bucket: b.id, rules: [{applyServerSideEncryptionByDefault: {sseAlgorithm: "AES256"}}]}. Serve assets through presigned URLs, never a public ACL.',
  types: Object.values(TYPES),
  defaults: {},
  validateStack: (resources) => {
    const out: StackViolation[] = [];
    const of = (t: string) => resources.filter((r) => r.type === t);
    const pabs = of(TYPES.publicAccessBlock);
    const sses = [...of(TYPES.sse), ...of(TYPES.sseV2)];
    const acls = of(TYPES.bucketAcl);
    for (const b of [...of(TYPES.bucket), ...of(TYPES.bucketV2)]) {
      const mine = pabs.filter((p) => refersTo(p, "bucket", b));
      if (mine.length === 0) out.push({ resource: b.key, message: `bucket ${b.name} has no BucketPublicAccessBlock.` });
      else {
        const off = PAB_FLAGS.filter((f) => !mine.some((p) => p.props[f] === true || isUnknown(p.props[f])));
        if (off.length) out.push({ resource: mine[0].key, message: `bucket ${b.name}: BucketPublicAccessBlock leaves ${off.join(", ")} off.` });
      }
      const inline = asRecord(b.props.serverSideEncryptionConfiguration).rule;
      const encrypted = sses.some((s) => refersTo(s, "bucket", b) && encrypts(s.props.rules)) || encrypts(inline ? [inline] : []);
      if (!encrypted) out.push({ resource: b.key, message: `bucket ${b.name} has no BucketServerSideEncryptionConfiguration with AES256 or aws:kms.` });
      const acl = str(b.props.acl);
      if (typeof acl === "string" && PUBLIC_ACL.test(acl)) out.push({ resource: b.key, message: `bucket ${b.name} has the public ACL "${acl}".` });
      for (const a of acls.filter((x) => refersTo(x, "bucket", b))) {
        const v = str(a.props.acl);
        if (typeof v === "string" && PUBLIC_ACL.test(v)) out.push({ resource: a.key, message: `bucket ${b.name}: BucketAcl sets the public ACL "${v}".` });
      }
    }
    for (const s of of(TYPES.spacesBucket)) {
      const acl = str(s.props.acl);
      if (typeof acl === "string" && PUBLIC_ACL.test(acl)) out.push({ resource: s.key, message: `Space ${s.name} has the public ACL "${acl}".` });
    }
    return out;
  },
});
