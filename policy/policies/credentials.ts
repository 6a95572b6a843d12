// no-credentials-in-env: a credential in plain container environment or in
// user_data is readable by anyone who can describe the task definition, read
// the droplet's metadata, or see the Pulumi state diff. Credentials go through
// Secrets Manager (ECS `secrets`) or the secret files pushed over stdin.
import { definePolicy, Res } from "../lib/types";
import { asArray, asRecord, isUnknown } from "../lib/values";

export const TYPES = {
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  droplet: "digitalocean:index/droplet:Droplet",
  ec2Instance: "aws:ec2/instance:Instance",
  remoteCommand: "command:remote:Command",
  localCommand: "command:local:Command",
};

/** Names that look like credentials (*PASSWORD*, *SECRET*, *KEY*, *TOKEN*, DATABASE_URL, …). */
export const CREDENTIAL_NAME = /PASSWORD|PASSWD|SECRET|KEY|TOKEN|CREDENTIAL|^DATABASE_URL$|^REDIS_URL$/i;
/** A URL with a password in it (postgres://user:pw@host, redis://:pw@host). */
export const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

export interface CredentialsConfig {
  /** Names that match the pattern but are public by design. */
  allowNames: string[];
  /**
   * Accept a private key in user_data. Only for a droplet's own SSH host key (the
   * only pre-boot channel DigitalOcean offers to pin it), and only when containers
   * cannot reach the metadata service (169.254.169.254) that serves user_data.
   */
  allowPrivateKeyInUserData: boolean;
}

function envProblems(where: string, name: string, value: unknown, cfg: CredentialsConfig): string[] {
  if (cfg.allowNames.includes(name)) return [];
  if (isUnknown(value)) return CREDENTIAL_NAME.test(name) ? [`${where} ${name} looks like a credential (its value is computed).`] : [];
  if (typeof value !== "string" || value === "") return [];
  if (CREDENTIAL_NAME.test(name)) return [`${where} ${name} looks like a credential.`];
  if (URL_WITH_PASSWORD.test(value)) return [`${where} ${name} holds a URL with a password in it.`];
  return [];
}

/** Credential-looking assignments in a cloud-init / shell text: UPPER_CASE names only, so YAML keys like ssh_authorized_keys are not env vars. */
export function userDataProblems(text: string, cfg: CredentialsConfig): string[] {
  const out: string[] = [];
  if (PRIVATE_KEY.test(text) && !cfg.allowPrivateKeyInUserData) out.push("userData contains a private key (the metadata service serves it to every process on the machine).");
  for (const [i, line] of text.split("\n").entries()) {
    const m = /^\s*(?:-\s*)?(?:export\s+)?([A-Z][A-Z0-9_]*)\s*[=:]\s*(.*)$/.exec(line);
    if (m && m[2].trim() !== "" && m[2].trim() !== '""' && !cfg.allowNames.includes(m[1]) && CREDENTIAL_NAME.test(m[1])) out.push(`userData line ${i + 1} sets ${m[1]}, which looks like a credential.`);
    else if (URL_WITH_PASSWORD.test(line)) out.push(`userData line ${i + 1} contains a URL with a password in it.`);
  }
  return out;
}

function taskDefinition(r: Res, cfg: CredentialsConfig): string[] {
  const defs = r.props.containerDefinitions;
  if (typeof defs !== "string") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(defs);
  } catch {
    return []; // images-pinned reports invalid JSON
  }
  const out: string[] = [];
  for (const [i, c] of asArray(parsed).entries()) {
    const def = asRecord(c);
    const label = `containerDefinitions[${typeof def.name === "string" ? def.name : i}].environment`;
    for (const e of asArray(def.environment)) {
      const kv = asRecord(e);
      if (typeof kv.name === "string") out.push(...envProblems(label, kv.name, kv.value, cfg));
    }
  }
  return out;
}

export const noCredentialsInEnv = definePolicy<CredentialsConfig>({
  name: "no-credentials-in-env",
  description: "No credential travels as plain environment (ECS environment, command environment) or in user_data.",
  enforcementLevel: "mandatory",
  why: "Plain environment and user_data are visible to anyone who can describe the task, read instance metadata or the state: a leaked credential cannot be taken back.",
  remediation:
    "ECS: move the variable to the container's `secrets` (Secrets Manager ARN). Commands: pass it on stdin with logging \"none\". Droplets: push it with the deploy (secret files), never in user_data. A public value that merely looks like a credential goes in allowNames in policy/config/<stack>.json, with the reason.",
  types: Object.values(TYPES),
  configSchema: {
    properties: {
      allowNames: { type: "array", items: { type: "string" }, default: ["STACK_AUTH_PUBLISHABLE_KEY"] },
      allowPrivateKeyInUserData: { type: "boolean", default: false },
    },
  },
  // STACK_AUTH_PUBLISHABLE_KEY is public by design (APP.md: baked into the frontend image).
  defaults: { allowNames: ["STACK_AUTH_PUBLISHABLE_KEY"], allowPrivateKeyInUserData: false },
  validateResource: (r, cfg) => {
    if (r.type === TYPES.taskDefinition) return taskDefinition(r, cfg);
    if (r.type === TYPES.droplet || r.type === TYPES.ec2Instance) {
      const text = r.props.userData;
      return typeof text === "string" ? userDataProblems(text, cfg) : [];
    }
    if (r.type === TYPES.remoteCommand || r.type === TYPES.localCommand) {
      return Object.entries(asRecord(r.props.environment)).flatMap(([k, v]) => envProblems("environment", k, v, cfg));
    }
    return [];
  },
});
