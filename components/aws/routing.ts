// Pure ALB routing from docs/app-contract.md: these prefixes go to the backend with the path
// untouched (the old proxy stripped /api and broke every TTN webhook);
// everything else falls through to the listener's default action, the frontend.

export interface RoutingRule {
  /** Logical name of the listener rule resource. */
  name: string;
  priority: number;
  pathPatterns: string[];
  service: "backend";
}

/** docs/app-contract.md "Routing". ALB path patterns are case-sensitive and `*` matches any characters, `/` included. */
export const BACKEND_PATHS = ["/api/*", "/trpc/*", "/socket.io/*", "/health*", "/unsubscribe*"] as const;

export const DEFAULT_SERVICE = "frontend" as const;

/** One rule per prefix: readable in the console, and far below ALB's 5-values-per-rule limit. */
export function listenerRules(): RoutingRule[] {
  return BACKEND_PATHS.map((p, i) => ({
    name: `to-backend-${p.replace(/[^a-z]+/g, "-").replace(/^-+|-+$/g, "")}`,
    priority: 100 + i * 10,
    pathPatterns: [p],
    service: "backend" as const,
  }));
}

/** Which service the ALB sends `path` to, by the same rules (tests and docs). */
export function routeFor(path: string): "backend" | "frontend" {
  const matches = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(path);
  const rule = listenerRules()
    .sort((a, b) => a.priority - b.priority)
    .find((r) => r.pathPatterns.some(matches));
  return rule ? rule.service : DEFAULT_SERVICE;
}
