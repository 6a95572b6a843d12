// What a deployment ran with: a digest of the program (its source, its dependencies' lock and the
// files it ships to hosts) and one per section of the config the serving side is built from.
// Recorded as the `deployedWith` output and read back by the next run: a move starts only on a
// stack last deployed with the same program and config (components/move/state.ts), since
// otherwise the prepare would also change the serving side, which a move must leave as it is.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FreshtrackConfig } from "./config";
import { listFiles } from "./list-files";

/** The `deployedWith` stack output. No secret in it: the config holds none (user secrets are read apart). */
export interface DeployedWith {
  /** sha256 over the program's files (programFiles), path and content. */
  program: string;
  /** sha256 of each config section the serving side is built from (configSections). */
  config: Record<string, string>;
}

const ROOT = path.join(__dirname, "..");
/** What decides the resources and the files a deployment puts on hosts. Tests, docs and the policy pack do not. */
const PROGRAM_PARTS = ["index.ts", "Pulumi.yaml", "package.json", "package-lock.json", "core", "compose", "components"];

/** Every file of the program, relative to its root, sorted (stable across machines). */
export function programFiles(root = ROOT): string[] {
  const files = (part: string) =>
    fs.existsSync(path.join(root, part)) && fs.statSync(path.join(root, part)).isFile() ? [part] : listFiles(path.join(root, part), part);
  return PROGRAM_PARTS.flatMap(files).sort();
}

export function programDigest(root = ROOT): string {
  const h = createHash("sha256");
  for (const f of programFiles(root))
    h.update(`${f}\0`)
      .update(fs.readFileSync(path.join(root, f)))
      .update("\0");
  return h.digest("hex");
}

/**
 * The config the serving side is built from, by section: the target, the app's and the data's
 * settings and the serving target's own. Not the move keys (what a move changes), not another
 * target's section nor which secrets are set (a move adds the new side's), no secret value.
 */
export function configSections(cfg: FreshtrackConfig): Record<string, unknown> {
  return { target: cfg.target, app: cfg.app, data: cfg.data, [cfg.target]: cfg[cfg.target] };
}

const digestOf = (v: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(v ?? null))
    .digest("hex");

export function deployedWith(cfg: FreshtrackConfig, program = programDigest()): DeployedWith {
  return { program, config: Object.fromEntries(Object.entries(configSections(cfg)).map(([k, v]) => [k, digestOf(v)])) };
}

/** The config sections whose digest differs between two deployments (absent on either side counts). */
export function changedSections(was: DeployedWith, now: DeployedWith): string[] {
  return [...new Set([...Object.keys(was.config), ...Object.keys(now.config)])].filter((k) => was.config[k] !== now.config[k]).sort();
}
