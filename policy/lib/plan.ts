// Offline plan resources (scripts/lib/program.ts) as the policies see them:
// secrets unwrapped (the engine unwraps them too), the mock's id convention.
import type { Res } from "./types";

export interface PlannedLike {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  options?: { protect?: boolean };
}

/** {"$secret": v} -> v, everywhere. */
export function unwrapSecrets(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length === 1 && "$secret" in o) return unwrapSecrets(o.$secret);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = unwrapSecrets(x);
  return out;
}

export function fromPlan(resources: PlannedLike[]): Res[] {
  return resources.map((r) => ({
    type: r.type,
    name: r.name,
    key: `${r.type}::${r.name}`,
    props: unwrapSecrets(r.inputs) as Record<string, unknown>,
    protect: r.options?.protect === true,
    // scripts/lib/program.ts gives every mocked resource the id `<name>-id` and this ARN.
    id: `${r.name}-id`,
    arn: `arn:aws:mock:us-east-1:123456789012:${r.name}`,
  }));
}
