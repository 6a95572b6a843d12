// Runs policies over resources without the Pulumi CLI, with the same config
// semantics as the engine (per-policy enforcementLevel and properties, "all").
import type { AnyPolicy, Res } from "./types";

export interface Finding {
  policy: string;
  level: "mandatory" | "advisory";
  /** `key` of the resource (stack policies: when they name one). */
  resource?: string;
  message: string;
}

/** A policy pack config file: {"<policy>": "advisory" | {"enforcementLevel"?, ...properties}, "all"?: level}. */
export type PackConfig = Record<string, unknown>;

export type EffectiveLevel = "mandatory" | "advisory" | "disabled";

export function levelOf(p: AnyPolicy, config: PackConfig): EffectiveLevel {
  const own = config[p.name];
  if (typeof own === "string") return own as EffectiveLevel;
  if (own && typeof own === "object" && typeof (own as { enforcementLevel?: unknown }).enforcementLevel === "string")
    return (own as { enforcementLevel: EffectiveLevel }).enforcementLevel;
  // In the engine a policy's own level beats the pack-wide "all".
  return p.enforcementLevel;
}

export function configOf<C extends object>(p: { name: string; defaults: C }, config: PackConfig): C {
  const own = config[p.name];
  if (!own || typeof own !== "object") return { ...p.defaults };
  const { enforcementLevel: _level, ...props } = own as Record<string, unknown>;
  return { ...p.defaults, ...props } as C;
}

/** Every violation of `policies` in `resources` (disabled policies skipped). */
export function runPolicies(resources: Res[], policies: AnyPolicy[], config: PackConfig = {}): Finding[] {
  const findings: Finding[] = [];
  for (const p of policies) {
    const level = levelOf(p, config);
    if (level === "disabled") continue;
    const cfg = configOf(p, config);
    if (p.validateResource) {
      for (const r of resources) for (const message of p.validateResource(r, cfg)) findings.push({ policy: p.name, level, resource: r.key, message });
    }
    if (p.validateStack) {
      for (const v of p.validateStack(resources, cfg)) findings.push({ policy: p.name, level, resource: v.resource, message: v.message });
    }
  }
  return findings;
}

/** Resources each policy looked at (by its declared types). */
export function coverage(resources: Res[], policies: AnyPolicy[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of policies) out[p.name] = resources.filter((r) => p.types.includes(r.type)).map((r) => r.key);
  return out;
}
