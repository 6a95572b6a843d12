// Refuses config changes that DigitalOcean can only apply by re-creating the
// managed database (a new, empty cluster) or the network it lives in.
//
// Mechanism: a small `random.RandomId` records the placement (the region) in its
// `keepers` when the stack is first deployed, and `ignoreChanges: ["keepers"]` freezes that record. Every regional
// resource takes its region from the guard's output, which passes through
// `placementProblems`: when today's config differs from the recorded placement
// the program throws before any regional resource is registered, with the
// reason and the way out. Belt and braces: the cluster and the VPC are also
// `protect`ed, so even a replacement planned some other way fails instead of
// deleting data.

/** What must never change after creation without a deliberate migration. */
export interface Placement {
  region: string;
}

export const PLACEMENT_KEYS: (keyof Placement)[] = ["region"];

/** Returns the error message for a forbidden change, or undefined when the config matches the record. */
export function placementProblems(recorded: Partial<Record<string, string>> | undefined, desired: Placement): string | undefined {
  if (!recorded) return undefined; // first deployment: nothing recorded yet
  const problems: string[] = [];
  for (const key of PLACEMENT_KEYS) {
    const was = recorded[key];
    if (was !== undefined && was !== desired[key])
      problems.push(`${key}: the database, droplet, VPC and Spaces buckets were created in "${was}", config now says "${desired[key]}"`);
  }
  if (problems.length === 0) return undefined;
  return (
    "Refusing a change the DigitalOcean target can only apply by re-creating the managed database (all readings would be lost):\n" +
    problems.map((p) => `  - ${p}`).join("\n") +
    `\nFix: pulumi config set doRegion ${recorded.region}` +
    "\nTo really move the customer to another region, create a new stack there and migrate the data (dump and restore, or a DigitalOcean read-only replica), then switch DNS."
  );
}

/** Keepers written on first deployment: plain strings, as random.RandomId takes them. */
export function placementKeepers(p: Placement): Record<string, string> {
  return { region: p.region };
}
