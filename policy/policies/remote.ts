// Remote commands reach the customer's host with root rights and carry secrets
// on stdin. An unpinned host key lets anyone on the path impersonate the host
// and receive those secrets; logged stdin writes them into the Pulumi log.
import { definePolicy } from "../lib/types";
import { asRecord, isUnknown, str } from "../lib/values";

export const TYPES = { command: "command:remote:Command", copy: "command:remote:CopyToRemote" };

function hostKeyMissing(conn: Record<string, unknown>): boolean {
  const k = str(conn.hostKey);
  return k === undefined || (typeof k === "string" && k.trim() === "");
}

export const remoteHostKeyPinned = definePolicy({
  name: "remote-host-key-pinned",
  description: "Every remote command and copy pins the host's SSH key (connection.hostKey, and proxy.hostKey through a bastion).",
  enforcementLevel: "mandatory",
  why: "Without a pinned key the first connection trusts whoever answers: a man in the middle receives the secrets written over stdin.",
  remediation: "Set connection.hostKey to the host's public key: vmHostKey on vm, the tls.PrivateKey generated for the droplet on digitalocean.",
  types: Object.values(TYPES),
  defaults: {},
  validateResource: (r) => {
    if (r.type !== TYPES.command && r.type !== TYPES.copy) return [];
    const conn = r.props.connection;
    if (isUnknown(conn)) return [];
    const c = asRecord(conn);
    const out: string[] = [];
    if (hostKeyMissing(c)) out.push("connection.hostKey is not set: the SSH host key is not verified.");
    if (c.proxy !== undefined && !isUnknown(c.proxy) && hostKeyMissing(asRecord(c.proxy)))
      out.push("connection.proxy.hostKey is not set: the bastion's SSH host key is not verified.");
    return out;
  },
});

export const remoteStdinNotLogged = definePolicy({
  name: "remote-stdin-not-logged",
  description: 'Every remote command that receives stdin has logging "none".',
  enforcementLevel: "mandatory",
  why: "stdin is how secrets reach the host; with any other logging mode the command's output (which may echo them) lands in the Pulumi log and CI output.",
  remediation: 'Set logging: "none" on the command (command.remote.Logging.None); print only what is safe from the script itself.',
  types: [TYPES.command],
  defaults: {},
  validateResource: (r) => {
    if (r.type !== TYPES.command) return [];
    const stdin = r.props.stdin;
    const receives = isUnknown(stdin) || (typeof stdin === "string" && stdin !== "");
    const logging = r.props.logging;
    if (!receives || isUnknown(logging) || logging === "none") return [];
    return [`stdin is set but logging is ${logging === undefined ? "not set (defaults to stdoutAndStderr)" : `"${String(logging)}"`}; it must be "none".`];
  },
});
