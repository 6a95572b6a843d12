"use strict";
// `weed server|s3|mini [flags]` → an s3rver S3 API on -s3.port (default 8333).
// Honoured: -dir / -s3.dir (data dir), -s3.port / -port (with `s3`), -ip.bind / -s3.ip.bind,
// -s3.config / -config (SeaweedFS identities JSON: identities[].credentials[].{accessKey,secretKey});
// with a config, only those keys authenticate (the default S3RVER key is revoked), and each
// request needs the action SeaweedFS's S3 gateway asks for (see `requiredAction`), allowed the
// way its Identity.canDo allows it: "Admin" anything; "Read" any bucket; "Read:bucket" that
// bucket; "Read:bucket/prefix*" matching keys; "Admin:bucket" everything on that bucket.
// Path-style bucket addressing only, as SeaweedFS without -s3.domainName.
// -s3.cert.file / -s3.key.file (SeaweedFS's flags): HTTPS with that certificate and key.
// -s3.domainName=D (SeaweedFS's flag): a request for host BUCKET.D addresses BUCKET (virtual-host
// style, which rclone uses for providers such as DigitalOcean whatever force_path_style says).
// s3rver computes signatures for path-style URIs only, so with -s3.domainName a signature that
// does not match is let through (the access key still decides what a request may do).
// GET /healthz and /status answer 200 like SeaweedFS's S3 gateway. Other flags are accepted and ignored.
// A PUT is answered once the object is whole, as SeaweedFS answers it (s3rver-whole-put.js).
const crypto = require("crypto");
const fs = require("fs");
const S3rver = require("s3rver");
const { putObjectWhole } = require("./s3rver-whole-put");
const AWSAccount = require("s3rver/lib/models/account");
const { DUMMY_ACCOUNT } = AWSAccount;

const args = process.argv.slice(2).filter((a) => !a.startsWith("-logtostderr") && !a.startsWith("-v="));
const sub = args.shift();
if (!["server", "s3", "mini"].includes(sub ?? "")) {
  console.error(`weed (e2e stand-in): unsupported subcommand ${sub}; use server, s3 or mini`);
  process.exit(2);
}
const flags = {};
for (const a of args) {
  const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
  if (m) flags[m[1]] = m[2] ?? "true";
}
const port = Number(flags["s3.port"] ?? (sub === "s3" ? flags["port"] : undefined) ?? 8333);
const address = flags["s3.ip.bind"] ?? flags["ip.bind"] ?? "0.0.0.0";
const dir = flags["s3.dir"] ?? flags["dir"] ?? "/data";
const configFile = flags["s3.config"] ?? (sub === "s3" ? flags["config"] : undefined);

/** access key -> the identity's actions (SeaweedFS s3.json). */
const actionsByKey = new Map();

// The action SeaweedFS 3.x routes each request through (weed/s3api/s3api_server.go): object
// PUT/COPY/DELETE and bucket POST ?delete need Write (so Write is also delete and overwrite),
// GET/HEAD Read, bucket listing List, ?tagging Tagging, bucket creation Admin, bucket DELETE Write.
function requiredAction(method, bucket, key, query) {
  if (!bucket) return null; // ListBuckets: SeaweedFS filters the list; the stand-in lists all
  if ("tagging" in query) return "Tagging";
  if (!key) {
    if (method === "PUT") return "Admin";
    if (method === "DELETE" || (method === "POST" && "delete" in query)) return "Write";
    if (method === "GET" && !("location" in query) && !("versioning" in query) && !("acl" in query)) return "List";
    return "Read";
  }
  if (method === "GET" || method === "HEAD") return "Read";
  return "Write";
}

// Identity.canDo of SeaweedFS (weed/s3api/auth_credentials.go), for one bucket and key.
function canDo(actions, action, bucket, key) {
  if (actions.includes("Admin") || actions.includes(action)) return true;
  const target = `${action}:${bucket}/${key}`;
  const adminTarget = `Admin:${bucket}/${key}`;
  return actions.some((a) =>
    a.endsWith("*") ? target.startsWith(a.slice(0, -1)) || adminTarget.startsWith(a.slice(0, -1)) : a === `${action}:${bucket}` || a === `Admin:${bucket}`,
  );
}

/** The access key of a SigV4 request (header or presigned query). */
function accessKeyOf(ctx) {
  const auth = ctx.get("authorization");
  const m = /Credential=([^/,\s]+)\//.exec(auth) || /^([^/]+)\//.exec(ctx.query["X-Amz-Credential"] || "");
  return m ? m[1] : null;
}

if (configFile) {
  const conf = JSON.parse(fs.readFileSync(configFile, "utf8"));
  let n = 0;
  for (const identity of conf.identities ?? []) {
    for (const c of identity.credentials ?? []) actionsByKey.set(c.accessKey, identity.actions ?? []);
    const account = new AWSAccount(identity.name ?? `id${n}`, identity.name ?? `id${n}`);
    for (const c of identity.credentials ?? []) {
      account.createKeyPair(c.accessKey, c.secretKey);
      n++;
    }
  }
  if (n === 0) {
    console.error(`weed (e2e stand-in): ${configFile} has no identities[].credentials[]`);
    process.exit(1);
  }
  DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
}
fs.mkdirSync(dir, { recursive: true });
// SeaweedFS addresses buckets by path unless -s3.domainName is set; s3rver would take any
// non-IP Host header (`objectstore:8333`) for a CNAME'd bucket name.
const tls = flags["s3.cert.file"] && flags["s3.key.file"] ? { cert: fs.readFileSync(flags["s3.cert.file"]), key: fs.readFileSync(flags["s3.key.file"]) } : {};
const domain = flags["s3.domainName"];
const server = new S3rver({ port, address, directory: dir, silent: true, vhostBuckets: false, allowMismatchedSignatures: Boolean(domain), ...tls });
putObjectWhole(server.store);
server.middleware.unshift(async (ctx, next) => {
  if (ctx.method === "GET" && (ctx.path === "/healthz" || ctx.path === "/status")) {
    ctx.status = 200;
    ctx.body = "OK";
    return;
  }
  if (actionsByKey.size > 0) {
    const [, bucket = "", ...rest] = decodeURIComponent(ctx.path).split("/");
    const key = rest.join("/");
    const action = requiredAction(ctx.method, bucket, key, ctx.query);
    const actions = actionsByKey.get(accessKeyOf(ctx));
    // Unknown keys are left to s3rver (InvalidAccessKeyId); known ones need the action.
    if (action && actions && !canDo(actions, action, bucket, key)) {
      ctx.status = 403;
      ctx.type = "application/xml";
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied.</Message><Resource>${ctx.path}</Resource></Error>`;
      return;
    }
  }
  await next();
});
// Spaces (the -s3.domainName stand-in) gives a multipart object S3's ETag, md5(the parts' md5s)-N,
// which rclone compares with its own after the upload (provider DigitalOcean, HEAD of the object):
// s3rver keeps the whole object's md5, and a backup above rclone's streaming cutoff failed on it.
// The ETag is s3rver's stored object.md5, so that file is rewritten once the upload completed.
if (domain) {
  server.middleware.unshift(async (ctx, next) => {
    await next();
    const done = ctx.method === "POST" && "uploadId" in ctx.query && ctx.status === 200 && ctx.request.body?.CompleteMultipartUpload;
    if (!done || !done.Part || !ctx.params?.bucket) return;
    const parts = [].concat(done.Part);
    const md5s = Buffer.concat(parts.map((p) => Buffer.from(String(p.ETag).replace(/"|&quot;/g, ""), "hex")));
    const etag = `${crypto.createHash("md5").update(md5s).digest("hex")}-${parts.length}`;
    await fs.promises.writeFile(server.store.getResourcePath(ctx.params.bucket, ctx.params.key, "object.md5"), etag);
    if (typeof ctx.body === "string") ctx.body = ctx.body.replace(/<ETag>[^<]*<\/ETag>/, `<ETag>&quot;${etag}&quot;</ETag>`);
  });
}
// Unshifted last, so it runs first: the identity check above sees the bucket in the path.
if (domain) {
  server.middleware.unshift(async (ctx, next) => {
    const host = ctx.hostname;
    if (host.endsWith(`.${domain}`)) ctx.path = `/${host.slice(0, -domain.length - 1)}${ctx.path}`;
    await next();
  });
}
server.run().then(
  () => console.log(`weed (e2e stand-in, s3rver): S3 API on ${tls.cert ? "https" : "http"}://${address}:${port}, data in ${dir}${configFile ? `, identities from ${configFile}` : ""}`),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
