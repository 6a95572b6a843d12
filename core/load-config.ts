// Reads the stack's config from the Pulumi runtime and hands it to the pure parser.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { ConfigError, FreshtrackConfig, PROJECT, USER_SECRET_KEYS, UserSecretKey, parseConfig } from "./config";
import { secretDigests } from "./deployed-with";

/** Keys declared in Pulumi.yaml's `config:` block, with their defaults. */
export function declaredConfig(
  projectFile = path.join(__dirname, "..", "Pulumi.yaml"),
): Record<string, { type: string; default?: unknown; description?: string }> {
  const doc = parseYaml(fs.readFileSync(projectFile, "utf8")) as { config?: Record<string, { type: string; default?: unknown; description?: string }> };
  return doc.config ?? {};
}

// The SDK knows which keys were set with --secret but does not export it in its types.
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret: (k: string) => boolean };

export function loadConfig(): FreshtrackConfig {
  const declared = declaredConfig();
  const all = pulumi.runtime.allConfig();
  const raw: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const unknown: { key: string; message: string }[] = [];
  for (const [fullKey, value] of Object.entries(all)) {
    const [ns, key] = fullKey.split(":");
    if (ns !== PROJECT) continue; // provider config (aws:region, digitalocean:token ...) is not ours
    if (!(key in declared)) {
      const near = Object.keys(declared).find((k) => k.toLowerCase() === key.toLowerCase());
      unknown.push({ key, message: `is not a key this program reads${near ? ` (did you mean ${near}?)` : ""}. Fix: pulumi config rm ${key}` });
      continue;
    }
    raw[key] = value;
    if (isConfigSecret(fullKey)) secretKeys.add(key);
  }
  let cfg: FreshtrackConfig;
  try {
    cfg = parseConfig(raw, secretKeys);
  } catch (e) {
    // RunError: the CLI prints the message alone, without a stack trace. Unknown keys and bad values together, once each.
    if (e instanceof ConfigError) throw new pulumi.RunError(new ConfigError([...unknown, ...e.problems]).message);
    throw e;
  }
  if (unknown.length) throw new pulumi.RunError(new ConfigError(unknown).message);
  return cfg;
}

export type UserSecrets = Partial<Record<UserSecretKey, pulumi.Output<string>>>;

/** User-supplied credentials, only ever as secret Outputs. Unset keys are absent. */
export function loadUserSecrets(cfg: FreshtrackConfig): UserSecrets {
  const c = new pulumi.Config(PROJECT);
  const out: UserSecrets = {};
  for (const key of USER_SECRET_KEYS) {
    if (cfg.secretsSet.includes(key)) out[key] = c.requireSecret(key);
  }
  return out;
}

/**
 * Digests of the serving side's secrets (core/deployed-with.ts), read before any resource: config
 * values are known at preview; the values stay inside this function, only their digests leave it.
 */
export function userSecretDigests(cfg: FreshtrackConfig, secrets: UserSecrets): Promise<Record<string, string>> {
  const keys = Object.keys(secrets) as UserSecretKey[];
  return new Promise((resolve) => {
    pulumi.all(keys.map((k) => secrets[k]!)).apply((values) => resolve(secretDigests(cfg, Object.fromEntries(keys.map((k, i) => [k, values[i]])))));
  });
}
