// The pack as the Pulumi CLI runs it, minus the CLI: start policy/index.ts from
// the policy directory (the PolicyPack reads its package.json there), talk to its
// analyzer over gRPC with the engine's own protobuf messages and wire encodings
// (assets, unknowns), and check the diagnostics it returns.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const fromPulumi = (m: string) => require(require.resolve(m, { paths: [require.resolve("@pulumi/pulumi")] }));
/* eslint-disable @typescript-eslint/no-explicit-any */
const grpc = fromPulumi("@grpc/grpc-js") as any;
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb") as any;
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb") as any;
const pb = require("@pulumi/pulumi/proto/analyzer_pb") as any;
const { AnalyzerClient } = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as any;

// Wire markers (sdk/nodejs/runtime/rpc.ts).
const SIG = "4dabf18193072939515e22adb298388d";
const asset = (text: string) => ({ [SIG]: "c44067f5952c0a294b673a41bacd8c17", text });
const archive = (assets: Record<string, unknown>) => ({ [SIG]: "0def7320c3a5731c473e5ecbe6d01bc7", assets });
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const secret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });

function call<T>(client: any, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

function request(type: string, name: string, props: Record<string, unknown>): any {
  const req = new pb.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(`urn:pulumi:test::freshtrack::${type}::${name}`);
  req.setProperties(Struct.fromJavaScript(props));
  req.setOptions(new pb.AnalyzerResourceOptions());
  return req;
}

const diagnostics = (res: any) =>
  res.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname() as string,
    level: d.getEnforcementlevel() as number,
    message: d.getMessage() as string,
    urn: d.getUrn() as string,
  }));

describe("policy pack over the analyzer gRPC protocol", function () {
  this.timeout(120000);
  let child: ChildProcess;
  let client: any;

  before(async () => {
    child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
      cwd: path.join(ROOT, "policy"),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (d) => resolve(String(d).trim().split("\n")[0]));
      child.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
    });
    assert.match(port, /^\d+$/);
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    child?.kill();
  });

  it("announces every policy with its enforcement level", async () => {
    const info = await call<any>(client, "getAnalyzerInfo", new Empty());
    assert.equal(info.getName(), "freshtrack-guardrails");
    const levels = Object.fromEntries(info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]));
    assert.equal(levels["images-pinned"], pb.EnforcementLevel.MANDATORY);
    assert.equal(levels["log-group-retention"], pb.EnforcementLevel.ADVISORY);
    assert.equal(Object.keys(levels).length, 12);
  });

  it("a CopyToRemote with a :latest compose image and no host key gets exactly those two mandatory violations", async () => {
    const res = await call<any>(
      client,
      "analyze",
      request("command:remote:CopyToRemote", "copy-bundle", {
        connection: { host: "203.0.113.10", user: "root" },
        remotePath: "/opt/freshtrack/releases/x",
        source: archive({ "compose.yml": asset("services:\n  caddy:\n    image: caddy:latest\n  backend:\n    image: ghcr.io/o/b:1.2.3\n") }),
      }),
    );
    const ds = diagnostics(res).sort((a: { policy: string }, b: { policy: string }) => a.policy.localeCompare(b.policy));
    assert.deepEqual(
      ds.map((d: { policy: string; level: number }) => [d.policy, d.level]),
      [
        ["images-pinned", pb.EnforcementLevel.MANDATORY],
        ["remote-host-key-pinned", pb.EnforcementLevel.MANDATORY],
      ],
    );
    assert.match(ds[0].message, /service caddy image "caddy:latest" uses the moving tag :latest/);
  });

  it("a bundle copied as one StringAsset payload is unpacked and checked", async () => {
    const { serializeBundle } = require("../../components/shared/host/bundle-payload") as typeof import("../../components/shared/host/bundle-payload");
    const payload = serializeBundle({ "compose.yml": "services:\n  grafana:\n    image: grafana/grafana\n", "release.json": "{}" });
    const res = await call<any>(
      client,
      "analyze",
      request("command:remote:CopyToRemote", "copy-bundle", {
        connection: { host: "h", hostKey: "ssh-ed25519 AAAA" },
        remotePath: "/opt/freshtrack/releases/x.bundle",
        source: asset(payload),
      }),
    );
    const ds = diagnostics(res);
    assert.deepEqual(
      ds.map((d: { policy: string }) => d.policy),
      ["images-pinned"],
    );
    assert.match(ds[0].message, /service grafana image "grafana\/grafana" has no tag/);
  });

  it("values unknown at preview produce no violation", async () => {
    const res = await call<any>(
      client,
      "analyze",
      request("command:remote:Command", "deploy", { connection: { host: UNKNOWN, hostKey: UNKNOWN }, stdin: UNKNOWN, logging: "none", create: "bin/deploy" }),
    );
    assert.deepEqual(diagnostics(res), []);
  });

  it("a connection that arrives as a secret (it holds the private key) is still checked", async () => {
    const cmd = (conn: Record<string, unknown>) =>
      request("command:remote:Command", "write-secrets", {
        connection: secret(conn),
        stdin: secret("app/JWT_SECRET 1001 eA==\n"),
        logging: "none",
        create: "x",
      });
    assert.deepEqual(diagnostics(await call<any>(client, "analyze", cmd({ host: "h", privateKey: "k", hostKey: "ssh-ed25519 AAAA" }))), []);
    assert.deepEqual(
      diagnostics(await call<any>(client, "analyze", cmd({ host: "h", privateKey: "k" }))).map((d: { policy: string }) => d.policy),
      ["remote-host-key-pinned"],
    );
  });

  it("the protect resource option reaches the DigitalOcean database check", async () => {
    const cluster = { engine: "pg", version: "16", size: "db-s-1vcpu-1gb", region: "fra1", nodeCount: 1, privateNetworkUuid: "vpc-1" };
    const unprotected = diagnostics(await call<any>(client, "analyze", request("digitalocean:index/databaseCluster:DatabaseCluster", "db", cluster)));
    assert.deepEqual(
      unprotected.map((d: { policy: string }) => d.policy),
      ["database-protected"],
    );
    assert.match(unprotected[0].message, /not protected/);
    const req = request("digitalocean:index/databaseCluster:DatabaseCluster", "db", cluster);
    req.getOptions().setProtect(true);
    assert.deepEqual(diagnostics(await call<any>(client, "analyze", req)), []);
  });

  it("the bucket stack policy runs over analyzeStack and names the bucket's URN", async () => {
    const resource = (type: string, name: string, props: Record<string, unknown>, deps: Record<string, string[]> = {}) => {
      const r = new pb.AnalyzerResource();
      r.setType(type);
      r.setName(name);
      r.setUrn(`urn:pulumi:test::freshtrack::${type}::${name}`);
      r.setProperties(Struct.fromJavaScript(props));
      r.setOptions(new pb.AnalyzerResourceOptions());
      for (const [k, urns] of Object.entries(deps)) {
        const d = new pb.AnalyzerPropertyDependencies();
        d.setUrnsList(urns);
        r.getPropertydependenciesMap().set(k, d);
      }
      return r;
    };
    const bucket = resource("aws:s3/bucket:Bucket", "assets", { bucket: "ft-assets" });
    const sse = resource(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "assets",
      { bucket: UNKNOWN, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      { bucket: [bucket.getUrn()] },
    );
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList([bucket, sse]);
    const ds = diagnostics(await call<any>(client, "analyzeStack", req));
    assert.deepEqual(
      ds.map((d: { policy: string; urn: string }) => [d.policy, d.urn]),
      [["bucket-private-encrypted", bucket.getUrn()]],
    );
    assert.match(ds[0].message, /bucket assets has no BucketPublicAccessBlock/);
  });

  // Last: configure replaces the pack's config for the rest of the process.
  it("per-stack config (what --policy-pack-config sends) sets sshCidrs and relaxes an advisory policy", async () => {
    const req = new pb.ConfigureAnalyzerRequest();
    const ingress = new pb.PolicyConfig();
    ingress.setEnforcementlevel(pb.EnforcementLevel.MANDATORY);
    ingress.setProperties(Struct.fromJavaScript({ sshCidrs: ["198.51.100.7/32"] }));
    const logs = new pb.PolicyConfig();
    logs.setEnforcementlevel(pb.EnforcementLevel.DISABLED);
    logs.setProperties(Struct.fromJavaScript({}));
    req.getPolicyconfigMap().set("ingress-restricted", ingress);
    req.getPolicyconfigMap().set("log-group-retention", logs);
    await call(client, "configure", req);
    const firewall = (cidr: string) =>
      request("digitalocean:index/firewall:Firewall", "fw", { inboundRules: [{ protocol: "tcp", portRange: "22", sourceAddresses: [cidr] }] });
    assert.deepEqual(diagnostics(await call<any>(client, "analyze", firewall("198.51.100.7/32"))), []);
    const bad = diagnostics(await call<any>(client, "analyze", firewall("192.0.2.1/32")));
    assert.deepEqual(
      bad.map((d: { policy: string }) => d.policy),
      ["ingress-restricted"],
    );
    assert.match(bad[0].message, /allows SSH from 192\.0\.2\.1\/32, which is not in the configured sshCidrs \[198\.51\.100\.7\/32\]/);
    assert.deepEqual(diagnostics(await call<any>(client, "analyze", request("aws:cloudwatch/logGroup:LogGroup", "logs", { name: "/x" }))), []);
  });
});
