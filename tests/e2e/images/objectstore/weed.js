"use strict";
// `weed server|s3|mini [flags]` → an s3rver S3 API on -s3.port (default 8333).
// Honoured: -dir / -s3.dir (data dir), -s3.port / -port (with `s3`), -ip.bind / -s3.ip.bind,
// -s3.config / -config (SeaweedFS identities JSON: identities[].credentials[].{accessKey,secretKey});
// with a config, only those keys authenticate (the default S3RVER key is revoked).
// Path-style bucket addressing only, as SeaweedFS without -s3.domainName.
// GET /healthz and /status answer 200 like SeaweedFS's S3 gateway. Other flags are accepted and ignored.
const fs = require("fs");
const S3rver = require("s3rver");
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

if (configFile) {
  const conf = JSON.parse(fs.readFileSync(configFile, "utf8"));
  let n = 0;
  for (const identity of conf.identities ?? []) {
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
const server = new S3rver({ port, address, directory: dir, silent: true, vhostBuckets: false });
server.middleware.unshift(async (ctx, next) => {
  if (ctx.method === "GET" && (ctx.path === "/healthz" || ctx.path === "/status")) {
    ctx.status = 200;
    ctx.body = "OK";
    return;
  }
  await next();
});
server.run().then(
  () => console.log(`weed (e2e stand-in, s3rver): S3 API on ${address}:${port}, data in ${dir}${configFile ? `, identities from ${configFile}` : ""}`),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
