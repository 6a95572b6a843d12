// What a deployment ran with: a digest of the program (its source, its dependencies' lock and the
// files it ships to hosts), one per section of the config the serving side is built from and one
// per secret the serving side is given. Recorded as the `deployedWith` output (the secrets' part
// as the secret output `deployedSecrets`) and read back by the next run: a move starts only on a
// stack last deployed with the same program, config and secrets (components/move/state.ts), since
// otherwise the prepare would also change the serving side, which a move must leave as it is.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FreshtrackConfig, USER_SECRET_KEYS, UserSecretKey } from "./config";
import { listFiles } from "./list-files";

/** What a run deploys with. `program` and `config` are the `deployedWith` output; `secrets` is the secret output `deployedSecrets`. */
export interface DeployedWith {
  /** sha256 over the program's files (programFiles), path and content. */
  program: string;
  /** sha256 of each config section the serving side is built from (configSections). */
  config: Record<string, string>;
  /** sha256 of each secret the serving side is given (servingSecretKeys), by key; undefined when the deployment recorded none. */
  secrets?: Record<string, string>;
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

/** A file's bytes with CRLF line ends read as LF: a checkout with git's autocrlf is the same program. */
const contentOf = (file: string) => Buffer.from(fs.readFileSync(file).toString("latin1").replace(/\r\n/g, "\n"), "latin1");

export function programDigest(root = ROOT): string {
  const h = createHash("sha256");
  for (const f of programFiles(root))
    h.update(`${f}\0`)
      .update(contentOf(path.join(root, f)))
      .update("\0");
  return h.digest("hex");
}

/**
 * The config the serving side is built from, by section: the target, the app's and the data's
 * settings and the serving target's own. Not the move keys (what a move changes), not another
 * target's section, not the secrets (a secret output of their own: secretDigests).
 */
export function configSections(cfg: FreshtrackConfig): Record<string, unknown> {
  return { target: cfg.target, app: cfg.app, data: cfg.data, [cfg.target]: cfg[cfg.target] };
}

const digestOf = (v: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(v ?? null))
    .digest("hex");

/** The target whose side a user secret configures (its key's prefix); the others configure the app on every side. */
const SECRET_OWNER: Partial<Record<UserSecretKey, string>> = { vmSshPrivateKey: "vm", vmBackupRemoteSecretAccessKey: "vm" };

/**
 * The secrets the serving side is given: the app's, and the serving target's own. Not another
 * target's (a move onto a vm sets the new host's key), which the serving side never reads.
 */
export function servingSecretKeys(cfg: FreshtrackConfig): UserSecretKey[] {
  return USER_SECRET_KEYS.filter((k) => (SECRET_OWNER[k] ?? cfg.target) === cfg.target);
}

/** sha256 of each serving-side secret that is set (unset keys absent), salted with its key. Recorded only as a secret output. */
export function secretDigests(cfg: FreshtrackConfig, values: Partial<Record<UserSecretKey, string>>): Record<string, string> {
  return Object.fromEntries(
    servingSecretKeys(cfg)
      .filter((k) => values[k] !== undefined)
      .map((k) => [k, createHash("sha256").update(`${k}\0${values[k]}`).digest("hex")]),
  );
}

/** `secrets`: secretDigests of this run's secrets. */
export function deployedWith(cfg: FreshtrackConfig, secrets: Record<string, string>, program = programDigest()): DeployedWith {
  return { program, config: Object.fromEntries(Object.entries(configSections(cfg)).map(([k, v]) => [k, digestOf(v)])), secrets };
}

/** The config sections whose digest differs between two deployments (absent on either side counts). */
export function changedSections(was: DeployedWith, now: DeployedWith): string[] {
  return changedKeys(was.config, now.config);
}

/** The secrets set, unset or given another value between two deployments (by key; never a value). */
export function changedSecrets(was: DeployedWith, now: DeployedWith): string[] {
  return changedKeys(was.secrets ?? {}, now.secrets ?? {});
}

const changedKeys = (was: Record<string, string>, now: Record<string, string>) =>
  [...new Set([...Object.keys(was), ...Object.keys(now)])].filter((k) => was[k] !== now[k]).sort();
