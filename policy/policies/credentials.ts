// no-credentials-in-env: a credential in plain container environment or in
// user_data is readable by anyone who can describe the task definition, read
// the droplet's metadata, or see the Pulumi state diff. Credentials go through
// Secrets Manager (ECS `secrets`) or the secret files pushed over stdin.
import { parse as parseYaml } from "yaml";
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
   * Accept the machine's own SSH host key in user_data: the only pre-boot channel
   * DigitalOcean offers to pin it. Checked, not trusted: the key must sit in
   * cloud-config `ssh_keys.<type>_private`, and the same user_data must install a
   * DOCKER-USER rule rejecting container traffic to the metadata service
   * (169.254.169.254), which serves user_data to anyone on the machine.
   */
  allowHostKeyInUserData: boolean;
}

function envProblems(where: string, name: string, value: unknown, cfg: CredentialsConfig): string[] {
  if (cfg.allowNames.includes(name)) return [];
  if (isUnknown(value)) return CREDENTIAL_NAME.test(name) ? [`${where} ${name} looks like a credential (its value is computed).`] : [];
  if (typeof value !== "string" || value === "") return [];
  if (CREDENTIAL_NAME.test(name)) return [`${where} ${name} looks like a credential.`];
  if (URL_WITH_PASSWORD.test(value)) return [`${where} ${name} holds a URL with a password in it.`];
  return [];
}

/** Why the private keys in `text` are not just a host key the policy may accept, or undefined when they are. */
export function hostKeyProblem(text: string): string | undefined {
  if (!/^#cloud-config\s/.test(text)) return "userData contains a private key and is not a cloud-config document with ssh_keys";
  let doc: Record<string, unknown>;
  try {
    doc = asRecord(parseYaml(text));
  } catch {
    return "userData contains a private key and is not valid cloud-config YAML";
  }
  const sshKeys = asRecord(doc.ssh_keys);
  const rest = { ...doc, ssh_keys: Object.fromEntries(Object.entries(sshKeys).filter(([k]) => !/_private$/.test(k))) };
  if (PRIVATE_KEY.test(JSON.stringify(rest))) return "userData contains a private key outside cloud-config ssh_keys (only the machine's host key may be there)";
  if (!(text.includes("DOCKER-USER") && text.includes("169.254.169.254")))
    return "userData carries the host private key but does not block containers from the metadata service (a DOCKER-USER rule rejecting 169.254.169.254)";
  return undefined;
}

/** Credential-looking assignments in a cloud-init / shell text: UPPER_CASE names only, so YAML keys like ssh_authorized_keys are not env vars. */
export function userDataProblems(text: string, cfg: CredentialsConfig): string[] {
  const out: string[] = [];
  if (PRIVATE_KEY.test(text)) {
    const problem = cfg.allowHostKeyInUserData
      ? hostKeyProblem(text)
      : "userData contains a private key (the metadata service serves it to every process on the machine)";
    if (problem) out.push(`${problem}.`);
  }
  for (const [i, line] of text.split("\n").entries()) {
    const m = /^\s*(?:-\s*)?(?:export\s+)?([A-Z][A-Z0-9_]*)\s*[=:]\s*(.*)$/.exec(line);
    if (m && m[2].trim() !== "" && m[2].trim() !== '""' && !cfg.allowNames.includes(m[1]) && CREDENTIAL_NAME.test(m[1]))
      out.push(`userData line ${i + 1} sets ${m[1]}, which looks like a credential.`);
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
    'ECS: move the variable to the container\'s `secrets` (Secrets Manager ARN). Commands: pass it on stdin with logging "none". Droplets: push it with the deploy (secret files), never in user_data. A public value that merely looks like a credential goes in allowNames in policy/config/<stack>.json, with the reason.',
  types: Object.values(TYPES),
  configSchema: {
    properties: {
      allowNames: { type: "array", items: { type: "string" }, default: ["STACK_AUTH_PUBLISHABLE_KEY"] },
      allowHostKeyInUserData: { type: "boolean", default: false },
    },
  },
  // STACK_AUTH_PUBLISHABLE_KEY is public by design (docs/app-contract.md: baked into the frontend image).
  defaults: { allowNames: ["STACK_AUTH_PUBLISHABLE_KEY"], allowHostKeyInUserData: false },
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
