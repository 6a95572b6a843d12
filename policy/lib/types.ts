// The pack's own vocabulary. Policies are pure functions over plain data (no
// @pulumi/policy, no engine), so tests feed them planned resources or
// hand-built fixtures; lib/pack.ts adapts them to the engine.
import type { PolicyConfigSchema } from "@pulumi/policy";

/** A resource as every policy sees it: secrets unwrapped, assets as {"$archive"}/{"$asset"}, unknowns as UNKNOWN. */
export interface Res {
  type: string;
  name: string;
  /** URN in the engine; `type::name` in an offline plan. Stack policies correlate by it. */
  key: string;
  props: Record<string, unknown>;
  /** The `protect` resource option. */
  protect?: boolean;
  /** Physical id when known (offline plans: the mock's `<name>-id`). */
  id?: string;
  /** ARN when known (offline plans: the mock's `arn:aws:mock:…:<name>`). */
  arn?: string;
  /** Property name -> keys of the resources it was computed from (engine only). */
  propertyDependencies?: Record<string, string[]>;
}

export type Level = "mandatory" | "advisory";

export interface StackViolation {
  /** `key` of the offending resource, when there is one. */
  resource?: string;
  message: string;
}

export interface PolicyDef<C extends object = Record<string, unknown>> {
  name: string;
  description: string;
  enforcementLevel: Level;
  /** Why this level: shown in the README table. */
  why: string;
  /** What to do about a violation (the engine shows it as remediation steps). */
  remediation: string;
  /** Types this policy looks at: the harness uses it to say what a policy covered. */
  types: string[];
  configSchema?: PolicyConfigSchema;
  /** Config defaults; per-stack files (policy/config/<stack>.json) override them. */
  defaults: C;
  validateResource?: (r: Res, config: C) => string[];
  validateStack?: (resources: Res[], config: C) => StackViolation[];
}

/** A policy whose config type has been erased, for lists of mixed policies. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPolicy = PolicyDef<any>;

export function definePolicy<C extends object>(p: PolicyDef<C>): PolicyDef<C> {
  return p;
}
