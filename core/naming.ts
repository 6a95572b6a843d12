// Names that must be identical whatever the target: the database and role the app
// expects (docs/app-contract.md: "frostguard"), and logical resource names for lasting state.
import * as pulumi from "@pulumi/pulumi";

export const DB_NAME = "frostguard";
export const DB_USER = "frostguard";

/** A cloud-side name: `ft-<stack>-<suffix>`, lower-case, trimmed to `max` characters. */
export function cloudName(suffix: string, max = 63, stack = pulumi.getStack()): string {
  const base = `ft-${stack}-${suffix}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-");
  return base.length <= max ? base : base.slice(0, max).replace(/-+$/, "");
}

/** Tags every cloud resource carries; never holds a secret. */
export function baseTags(target: string, stack = pulumi.getStack()): Record<string, string> {
  return { app: "freshtrack", stack, target, "managed-by": "pulumi" };
}
