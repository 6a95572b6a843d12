// Adapts the pure policies to @pulumi/policy: the engine's props (proxied,
// with unknown sentinels and Asset objects whose contents are promises) become
// the plain Res the policies read.
import * as pulumi from "@pulumi/pulumi";
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { configOf } from "./harness";
import type { AnyPolicy, Res } from "./types";
import { UNKNOWN } from "./values";

// The engine's unknown sentinels and proxy escape hatch (internal to @pulumi/policy, stable since 1.0).
const proxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
const SENTINELS = new Set<unknown>(
  [
    "unknownBooleanValue",
    "unknownNumberValue",
    "unknownStringValue",
    "unknownArrayValue",
    "unknownAssetValue",
    "unknownArchiveValue",
    "unknownObjectValue",
  ].map((k) => proxy[k]),
);
const PROXY_TARGET = "__getSpecialProxyTarget";

function raw(v: unknown): unknown {
  if (v !== null && typeof v === "object") {
    const target = (v as Record<string, unknown>)[PROXY_TARGET];
    if (target !== undefined) return target;
  }
  return v;
}

/** Plain data from engine props: unknowns -> UNKNOWN, assets -> {"$asset"}/{"$archive"}, secrets unwrapped. */
export async function normalize(value: unknown): Promise<unknown> {
  const v = raw(value);
  if (SENTINELS.has(v)) return UNKNOWN;
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return Promise.all(v.map(normalize));
  if (pulumi.asset.StringAsset.isInstance(v)) return { $asset: await (v as pulumi.asset.StringAsset).text };
  if (pulumi.asset.FileAsset.isInstance(v)) return { $file: await (v as pulumi.asset.FileAsset).path };
  if (pulumi.asset.AssetArchive.isInstance(v)) {
    const assets = await (v as pulumi.asset.AssetArchive).assets;
    const out: Record<string, unknown> = {};
    for (const [k, a] of Object.entries(assets)) out[k] = await normalize(a);
    return { $archive: out };
  }
  if (pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v)) return { $file: "(remote or file asset)" };
  const o = v as Record<string, unknown>;
  if (o.constructor?.name === "Secret" && "value" in o) return normalize(o.value);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = await normalize(x);
  return out;
}

async function fromEngine(
  r: { type: string; name: string; urn: string; props: Record<string, unknown>; opts: { protect: boolean } },
  deps?: Record<string, PolicyResource[]>,
): Promise<Res> {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(deps ?? {})) propertyDependencies[k] = list.map((d) => d.urn);
  return {
    type: r.type,
    name: r.name,
    key: r.urn,
    props: (await normalize(r.props)) as Record<string, unknown>,
    protect: r.opts.protect,
    propertyDependencies,
  };
}

/** One engine policy for one pure policy. */
export function toPulumiPolicy(p: AnyPolicy): ResourceValidationPolicy | StackValidationPolicy {
  const base = {
    name: p.name,
    description: p.description,
    enforcementLevel: p.enforcementLevel,
    remediationSteps: p.remediation,
    configSchema: p.configSchema,
  };
  const cfgFrom = (args: { getConfig<T extends object>(): T }) => configOf(p, { [p.name]: args.getConfig<Record<string, unknown>>() });
  if (p.validateStack) {
    const validateStack = p.validateStack;
    return {
      ...base,
      validateStack: async (args: StackValidationArgs, report: ReportViolation) => {
        const resources = await Promise.all(args.resources.map((r) => fromEngine(r, r.propertyDependencies)));
        for (const v of validateStack(resources, cfgFrom(args))) report(`${v.message} Fix: ${p.remediation}`, v.resource);
      },
    };
  }
  const validate = p.validateResource!;
  return {
    ...base,
    validateResource: async (args: ResourceValidationArgs, report: ReportViolation) => {
      if (!p.types.includes(args.type)) return;
      const r = await fromEngine(args);
      for (const message of validate(r, cfgFrom(args))) report(`${message} Fix: ${p.remediation}`);
    },
  };
}
