// Runs the real Pulumi program (index.ts) under Pulumi's mock runtime, with the
// config of one stack file, and records every resource it declares. Used by the
// offline plan (`npm run plan`), the stack tests and the end-to-end harness.
//
// Pulumi keeps its run state (mocks, config, stack, registrations) per process, or
// per run state opened with the SDK's `withLocalStorage`, and a second setMocks in
// the same state steals the first one's resources: call runProgram once per process,
// or once per run state with the repository's modules loaded afresh
// (tests/helpers/plan-child.js).
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import type * as PulumiTypes from "@pulumi/pulumi";

export const ROOT = path.resolve(__dirname, "..", "..");

/** Pulumi's wire markers (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface PlannedResource {
  type: string;
  name: string;
  /** `type::name` of the parent, or undefined for the stack's direct children. */
  parent?: string;
  /** Inputs with secrets as {"$secret": value}, assets as {"$asset": text} / {"$file": path}, archives as {"$archive": {...}}. */
  inputs: Record<string, unknown>;
  /** Resource options the program set that matter to reviewers. */
  options: {
    protect?: boolean;
    provider?: string;
    dependsOn?: string[];
    ignoreChanges?: string[];
    retainOnDelete?: boolean;
    deleteBeforeReplace?: boolean;
    additionalSecretOutputs?: string[];
  };
}

/** A provider function the program called (e.g. a registry digest lookup), with its arguments. */
export interface PlannedInvoke {
  token: string;
  inputs: Record<string, unknown>;
}

/** One declared resource by its real URN (full parent type chain), inputs as the program passed them. */
export interface UrnEntry {
  urn: string;
  inputs: unknown;
  protect: boolean;
  retainOnDelete: boolean;
}

export interface PlanResult {
  stack: string;
  resources: PlannedResource[];
  /** Every resource by URN: what `pulumi preview` would compare against the state (tests of moves). */
  byUrn: UrnEntry[];
  outputs: Record<string, unknown>;
  /** In call order. */
  invokes: PlannedInvoke[];
}

export interface RunOptions {
  stack: string;
  /** Extra or replaced config, by key without the `freshtrack:` prefix (tests). Values are strings or JSON-able. */
  set?: Record<string, unknown>;
  /** Keys of `set` to mark as secret. */
  secretSet?: string[];
  /** Computed outputs for a resource, merged over the defaults (e.g. a test host's address). */
  outputsFor?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
  /** The result of a provider function, instead of the default (e.g. a test cluster's real CA for getDatabaseCa). */
  invokeFor?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
  /** The provider id of a resource, instead of `<name>-id` (e.g. a replaced droplet). */
  idFor?: (type: string, name: string) => string | undefined;
  /** Outputs of the stack's last deployment, as its self-reference reads them (pulumi:pulumi:StackReference). Absent: never deployed. */
  previousOutputs?: Record<string, unknown>;
}

/** A recognisable dummy for a secret config value: tests search for it where it must not be. */
export function dummySecret(key: string): string {
  return `DUMMYSECRET${key.replace(/[^A-Za-z0-9]/g, "")}X`;
}

/** The value a mocked RandomPassword produces: alphanumeric, like the real one. */
export function dummyPassword(name: string): string {
  return `RNDSECRET${name.replace(/[^A-Za-z0-9]/g, "")}X`;
}

/** Stack config as the Pulumi CLI would pass it: Pulumi.yaml defaults, then the stack file, then overrides. */
export function stackConfig(opts: RunOptions): { config: Record<string, string>; secretKeys: string[] } {
  const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string; config?: Record<string, { default?: unknown }> };
  const stackFile = path.join(ROOT, `Pulumi.${opts.stack}.yaml`);
  if (!fs.existsSync(stackFile)) throw new Error(`no stack file ${path.basename(stackFile)}: create it with \`pulumi stack init ${opts.stack}\``);
  const stackDoc = (parseYaml(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };

  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const put = (key: string, value: unknown, secret: boolean) => {
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    config[full] = typeof value === "string" ? value : JSON.stringify(value);
    if (secret) secretKeys.add(full);
    else secretKeys.delete(full);
  };
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    if (decl.default !== undefined) put(key, decl.default, false);
  }
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    // `secure:` values are ciphertext only the CLI can open: stand in a recognisable dummy.
    if (value && typeof value === "object" && "secure" in (value as object)) put(key, dummySecret(key.split(":").pop()!), true);
    else put(key, value, false);
  }
  for (const [key, value] of Object.entries(opts.set ?? {})) put(key, value, (opts.secretSet ?? []).includes(key));
  return { config, secretKeys: [...secretKeys] };
}

function plain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  const v = value as Record<string, unknown>;
  if (v[SIG_KEY] === SECRET_SIG) return { $secret: plain(v.value) };
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  if (ctor === "StringAsset" || ctor === "FileAsset" || ctor === "RemoteAsset" || ctor === "AssetArchive" || ctor === "FileArchive") {
    return assetToPlain(value);
  }
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
  return out;
}

function assetToPlain(a: unknown): unknown {
  const any = a as Record<string, unknown>;
  // Asset fields are promises in the SDK; the mock runtime deserializes them to plain objects with those promises.
  const ctor = (a as { constructor: { name: string } }).constructor.name;
  if (ctor === "StringAsset") return { $asset: any.__text ?? any.text };
  if (ctor === "FileAsset") return { $file: any.__path ?? any.path };
  if (ctor === "AssetArchive") {
    // The mock runtime's archives hold their entries in a promise: resolveAssets() awaits it.
    const assets = (any.__assets ?? any.assets) as Record<string, unknown> | Promise<Record<string, unknown>>;
    return { $archive: Promise.resolve(assets).then((a) => Object.fromEntries(Object.entries(a).map(([k, x]) => [k, assetToPlain(x)]))) };
  }
  return { $file: any.__path ?? any.path };
}

async function resolveAssets(value: unknown): Promise<unknown> {
  if (value instanceof Promise) return resolveAssets(await value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return Promise.all(value.map(resolveAssets));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) out[k] = await resolveAssets(x);
  return out;
}

/** The digest the mocks give an image reference: stable, recognisable in tests, distinct per reference. */
export function mockImageDigest(ref: string): string {
  return `sha256:${createHash("sha256").update(`mock-registry:${ref}`).digest("hex")}`;
}

/** Default computed outputs so that components can chain on them under mocks. */
function defaultOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      return { result: dummyPassword(name) };
    case "random:index/randomId:RandomId":
      return { hex: `0123abcd${name.length}`, b64Url: `ASNFZ${name.length}` };
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${dummyPassword(name)}\n-----END OPENSSH PRIVATE KEY-----\n`,
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${dummyPassword(name)}\n-----END PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${name
          .replace(/[^A-Za-z0-9]/g, "")
          .padEnd(43, "A")
          .slice(0, 43)} \n`,
        publicKeyFingerprintMd5: "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
      };
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    case "command:local:Command":
      // The AWS target's RDS CA download: self-signed MOCK roots named like AWS's (scripts/lib/fixtures).
      if (name === "rds-ca-bundle") return { stdout: fs.readFileSync(path.join(__dirname, "fixtures", "mock-rds-global-bundle.pem"), "utf8"), stderr: "" };
      // As a remote command: an output read from stdout (a move's import report) must resolve.
      return { stdout: "", stderr: "" };
    default:
      break;
  }
  const out: Record<string, unknown> = { arn: `arn:aws:mock:us-east-1:123456789012:${name}` };
  if (type.startsWith("digitalocean:")) {
    Object.assign(out, {
      urn: `do:mock:${name}`,
      // Not the vm example's host (203.0.113.10): a move test tells the droplet's own address from the old host's.
      ipv4Address: "203.0.113.30",
      ipv4AddressPrivate: "10.10.0.2",
      ip: "203.0.113.20",
      host: `${name}.db.ondigitalocean.com`,
      privateHost: `private-${name}.db.ondigitalocean.com`,
      port: 25060,
      user: "doadmin",
      password: dummyPassword(`${name}-dopassword`),
      uri: `postgresql://doadmin:${dummyPassword(`${name}-dopassword`)}@${name}.db.ondigitalocean.com:25060/defaultdb?sslmode=require`,
      privateUri: `postgresql://doadmin:${dummyPassword(`${name}-dopassword`)}@private-${name}.db.ondigitalocean.com:25060/defaultdb?sslmode=require`,
      bucketDomainName: `${inputs.name ?? name}.fra1.digitaloceanspaces.com`,
      endpoint: "fra1.digitaloceanspaces.com",
      fingerprint: "00:11:22",
      accessKey: `DOSPACES${name.length}`,
      secretKey: dummyPassword(`${name}-spaces`),
    });
    // Computed-only values the digitalocean target chains on: the reserved IP, the VPC range, the URNs a Project holds.
    Object.assign(out, {
      ipAddress: inputs.ipAddress ?? "203.0.113.20",
      ipRange: inputs.ipRange ?? "10.110.16.0/20",
      dropletUrn: `do:droplet:${name}-id`,
      clusterUrn: `do:dbaas:${name}-id`,
      bucketUrn: `do:space:${inputs.name ?? name}`,
      reservedIpUrn: `do:reservedip:${inputs.ipAddress ?? "203.0.113.20"}`,
    });
  }
  if (type.startsWith("aws:")) {
    Object.assign(out, {
      dnsName: `${name}.us-east-1.elb.amazonaws.com`,
      zoneId: "Z35SXDOTRQ7X7K",
      endpoint: `${name}.abc123.us-east-1.rds.amazonaws.com:5432`,
      address: `${name}.abc123.us-east-1.rds.amazonaws.com`,
      bucket: inputs.bucket ?? `${name}-bucket`,
      bucketRegionalDomainName: `${name}.s3.us-east-1.amazonaws.com`,
      masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-master` }],
      domainValidationOptions: [
        {
          domainName: inputs.domainName ?? "app.example",
          resourceRecordName: "_x.app.example.",
          resourceRecordType: "CNAME",
          resourceRecordValue: "_y.acm-validations.aws.",
        },
      ],
      primaryEndpointAddress: `${name}.cache.amazonaws.com`,
      cacheNodes: [{ address: `${name}.cache.amazonaws.com`, port: 6379 }],
      secret: dummyPassword(`${name}-iam-secret`),
      id: `${name}-id`,
    });
  }
  return out;
}

const INVOKE_RESULTS: Record<string, Record<string, unknown>> = {
  "aws:index/getAvailabilityZones:getAvailabilityZones": { names: ["us-east-1a", "us-east-1b", "us-east-1c"], zoneIds: ["use1-az1", "use1-az2", "use1-az4"] },
  "aws:index/getCallerIdentity:getCallerIdentity": { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/mock", userId: "MOCK" },
  "aws:index/getRegion:getRegion": { name: "us-east-1", region: "us-east-1" },
  "aws:index/getPartition:getPartition": { partition: "aws", dnsSuffix: "amazonaws.com" },
  "aws:elb/getServiceAccount:getServiceAccount": { arn: "arn:aws:iam::127311923021:root", id: "127311923021" },
  "digitalocean:index/getDatabaseCa:getDatabaseCa": { certificate: "-----BEGIN CERTIFICATE-----\nMOCKDOCLUSTERCA\n-----END CERTIFICATE-----\n" },
};

/** Runs index.ts under mocks. Throws the program's error (e.g. a ConfigError) unchanged. */
export async function runProgram(opts: RunOptions): Promise<PlanResult> {
  const { config, secretKeys } = stackConfig(opts);
  process.env.PULUMI_CONFIG = JSON.stringify(config);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
  process.env.PULUMI_NODEJS_PROJECT = "freshtrack";
  process.env.PULUMI_NODEJS_STACK = opts.stack;

  // Imported only now: the SDK snapshots config from the environment when it loads.
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
  // The same config again, explicitly: a process that loaded the SDK earlier (the
  // tests' pre-warmed children) snapshotted an empty environment.
  pulumi.runtime.setAllConfig(config, secretKeys);

  const recorded: PlannedResource[] = [];
  const invokes: PlannedInvoke[] = [];
  const byName = new Map<string, PlannedResource>();
  const names = new WeakMap<object, string>();
  const optionsOf = new Map<string, PlannedResource["options"]>();
  const parentOf = new Map<string, string | undefined>();
  // URNs as the engine forms them (the mock monitor keeps only the parent's last type).
  const chains = new WeakMap<object, string>();
  const byUrn: { urn: string; props: unknown; protect: boolean; retainOnDelete: boolean }[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const inputs = (await resolveAssets(plain(args.inputs))) as Record<string, unknown>;
        const key = `${args.type}::${args.name}`;
        const r: PlannedResource = { type: args.type, name: args.name, parent: parentOf.get(key), inputs, options: optionsOf.get(key) ?? {} };
        recorded.push(r);
        byName.set(key, r);
        // The program reads its own last deployment through a StackReference: answer with the given outputs.
        if (args.type === "pulumi:pulumi:StackReference") {
          // A secret output (recorded as {$secret: value}) is read back as a secret, as the engine does.
          const last = Object.entries(opts.previousOutputs ?? {});
          const outputs = Object.fromEntries(last.map(([k, v]) => [k, isSecretWrapper(v) ? v.$secret : v]));
          const secretOutputNames = last.filter(([, v]) => isSecretWrapper(v)).map(([k]) => k);
          return { id: String(args.inputs.name), state: { name: args.inputs.name, outputs, secretOutputNames } };
        }
        const extra = opts.outputsFor?.(args.type, args.name, inputs) ?? {};
        return {
          id: opts.idFor?.(args.type, args.name) ?? `${args.name}-id`,
          state: { ...args.inputs, ...defaultOutputs(args.type, args.name, args.inputs), ...extra },
        };
      },
      call: (args) => {
        invokes.push({ token: args.token, inputs: plain(args.inputs) as Record<string, unknown> });
        // The registry, offline: every tag "resolves" to a digest derived from the reference.
        if (args.token === "docker:index/getRegistryImage:getRegistryImage") {
          const name = String(args.inputs.name);
          return { id: name, name, sha256Digest: mockImageDigest(name) };
        }
        return opts.invokeFor?.(args.token, plain(args.inputs) as Record<string, unknown>) ?? INVOKE_RESULTS[args.token] ?? {};
      },
    },
    "freshtrack",
    opts.stack,
    true,
    "organization", // what the DIY backends call every stack's organization
  );

  const stackRuntime = require("@pulumi/pulumi/runtime/stack") as {
    runInPulumiStack: (init: () => Promise<Record<string, unknown>>) => Promise<Record<string, unknown> | undefined>;
  };
  let program: Record<string, unknown> = {};
  let failure: unknown;
  await stackRuntime.runInPulumiStack(async () => {
    // Transformations run in-process for every resource and see its options: the
    // only place the parent and dependsOn are visible under mocks.
    pulumi.runtime.registerStackTransformation((args) => {
      const key = `${args.type}::${args.name}`;
      names.set(args.resource, key);
      const o = args.opts as PulumiTypes.CustomResourceOptions;
      parentOf.set(key, o.parent && names.has(o.parent) ? names.get(o.parent) : undefined);
      const chain = o.parent && chains.has(o.parent) ? `${chains.get(o.parent)}$${args.type}` : args.type;
      chains.set(args.resource, chain);
      byUrn.push({
        urn: `urn:pulumi:${opts.stack}::freshtrack::${chain}::${args.name}`,
        props: args.props,
        protect: !!o.protect,
        retainOnDelete: !!o.retainOnDelete,
      });
      const deps = ([] as unknown[])
        .concat(o.dependsOn ?? [])
        .filter((d): d is object => typeof d === "object" && d !== null)
        .map((d) => names.get(d) ?? "?");
      optionsOf.set(key, {
        ...(o.protect ? { protect: true } : {}),
        // `type::name` of an explicit provider (which region an AWS resource lives in).
        ...(o.provider && names.has(o.provider) ? { provider: names.get(o.provider) } : {}),
        ...(deps.length ? { dependsOn: deps } : {}),
        ...(o.ignoreChanges?.length ? { ignoreChanges: o.ignoreChanges } : {}),
        ...(o.retainOnDelete ? { retainOnDelete: true } : {}),
        ...(o.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        ...(o.additionalSecretOutputs?.length ? { additionalSecretOutputs: o.additionalSecretOutputs } : {}),
      });
      return undefined;
    });
    try {
      const main = require(path.join(ROOT, "index.ts")) as Record<string, unknown> | (() => Promise<Record<string, unknown>>);
      // An async program (export = async () => ...) returns its outputs, as the Pulumi CLI's runtime awaits them.
      program = typeof main === "function" ? await main() : main;
    } catch (e) {
      failure = e;
    }
    return program;
  });
  if (failure !== undefined) {
    await settings.waitForRPCs();
    // Reviewers and tests need to see that a bad config declared nothing at all.
    // The stack itself and the self-reference (a read of the last outputs) are not resources of any target.
    const declared = recorded.filter((r) => !r.type.startsWith("pulumi:pulumi:")).length;
    throw Object.assign(failure as Error, { declaredResources: declared });
  }
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) {
    if (pulumi.Output.isInstance(v)) {
      const secret = await (v as unknown as { isSecret: Promise<boolean> }).isSecret;
      const value = await new Promise<unknown>((resolve) => (v as PulumiTypes.Output<unknown>).apply((x: unknown) => resolve(x)));
      outputs[k] = secret ? { $secret: value } : value;
    } else outputs[k] = v;
  }
  const urnEntries: UrnEntry[] = [];
  for (const e of byUrn) {
    // promise(), not apply(): a value unknown in preview (e.g. an id) resolves as undefined instead of never.
    const inputs = await (pulumi.output(e.props) as unknown as { promise: () => Promise<unknown> }).promise();
    urnEntries.push({ urn: e.urn, inputs: await resolveAssets(plain(inputs)), protect: e.protect, retainOnDelete: e.retainOnDelete });
  }
  await settings.waitForRPCs();
  return { stack: opts.stack, resources: recorded, byUrn: urnEntries, outputs, invokes };
}

/** A secret as plans record it: {"$secret": value} and nothing else. */
function isSecretWrapper(v: unknown): v is { $secret: unknown } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "$secret" in v;
}

/** Replaces every {"$secret": v} with "[secret]": what a reviewer may see. */
export function maskSecrets(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (isSecretWrapper(value)) return "[secret]";
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = maskSecrets(x);
  return out;
}
