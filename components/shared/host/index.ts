// The SSH push shared by the vm and digitalocean targets: one chain of remote
// commands, each depending on the previous one (docs/design.md "Deploy steps"):
//   wait -> bootstrap -> copy-bundle -> unpack-bundle -> write-secrets -> preflight -> deploy
// plus `teardown`, whose delete stops the services when the stack is removed.
// Every step's `create` is a self-contained shell command (scripts are passed
// inline with `bash -c`), so the e2e harness can run the same steps over SSH.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { bootstrapArgs } from "./bootstrap";
import { serializeBundle } from "./bundle-payload";
import { SecretFiles, secretPayloadDigest, serializeSecretPayload } from "../../../compose/secret-files";

export * from "../../../compose/secret-files";
export * from "./bootstrap";
export * from "./secret-files";

/** The deploy steps, in order; resource names of the `command:remote:*` resources. */
export const HOST_STEPS = ["wait", "bootstrap", "copy-bundle", "unpack-bundle", "write-secrets", "preflight", "deploy"] as const;
export type HostStep = (typeof HOST_STEPS)[number];
/** Not a deploy step: its create only records ownership; its delete stops the services on stack removal. */
export const HOST_TEARDOWN_STEP = "teardown";

/**
 * Dial tuning. The provider retries a failed dial with a back-off growing from
 * 0.1 s to 5 s, and each TCP connect may take up to PER_DIAL_TIMEOUT_S. A
 * booting host refuses quickly (sshd not up): ~11 s + (limit - 10) x 5 s = ~5.5 min;
 * a host that drops packets (network not up yet): limit x (5 + 5) s = ~12 min.
 * Either way a dead host fails the deploy within a bounded time.
 */
export const DIAL_ERROR_LIMIT = 72;
export const PER_DIAL_TIMEOUT_S = 5;

/** Worst-case seconds the provider keeps dialling before giving up: [all refused, all timing out]. */
export function dialBudgetSeconds(limit = DIAL_ERROR_LIMIT, perDial = PER_DIAL_TIMEOUT_S): [number, number] {
  let backoff = 0;
  let delay = 0.1;
  for (let i = 0; i < limit; i++) {
    backoff += delay;
    delay = Math.min(delay * 1.5, 5);
  }
  return [Math.round(backoff), Math.round(backoff + limit * perDial)];
}

export interface HostConnection {
  host: pulumi.Input<string>;
  port: number;
  user: string;
  /** Secret. */
  privateKey: pulumi.Input<string>;
  /** "TYPE BASE64", as printed by ssh-keyscan without the host name. Never optional. */
  hostKey: pulumi.Input<string>;
}

export interface HostDeploymentArgs {
  connection: HostConnection;
  appDir: string;
  /** renderBundle(...) output: relative path -> content. Must hold no secret. */
  bundle: pulumi.Input<Record<string, string>>;
  /** Secret Output of hostSecretFiles(...). */
  secretFiles: pulumi.Output<SecretFiles>;
  waitForCloudInit: boolean;
  firewall: boolean;
  deployUser?: string;
  purgeOnDelete: boolean;
  /** Public URL of the deployment, passed through as an output. */
  url?: pulumi.Input<string>;
  /**
   * Which machine answers at `connection` (digitalocean: the droplet id). A rebuilt
   * droplet keeps the reserved IP and the pinned host key, so without this no step's
   * inputs would change and the new, empty machine would get no release. It is in
   * every step's triggers: a new machine replaces every step, in order.
   */
  hostIdentity?: pulumi.Input<string>;
}

const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** The pinned host key as the provider expects it ("TYPE BASE64"); refuses an empty or malformed key. */
export function normalizeHostKey(key: string): string {
  const k = key.trim().split(/\s+/).slice(0, 2).join(" ");
  if (!/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}$/.test(k)) {
    throw new Error(`HostDeployment: the host key must be "TYPE BASE64" as printed by ssh-keyscan; got ${JSON.stringify(key.slice(0, 40))}`);
  }
  return k;
}

/** A script kept in the repo (shellcheck-clean); its content is not a secret. */
export function hostScript(name: "bootstrap" | "wait" | "unpack-bundle" | "write-secrets" | "teardown"): string {
  return fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.sh`), "utf8");
}

export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** POSIX single-quoting: safe for any string as one shell word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `[sudo -n] bash -c '<script>' <name> <args...>`: runs a repo script without copying it first. */
export function scriptCommand(script: string, name: string, args: string[], sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}bash -c ${shellQuote(script)} ${[name, ...args].map(shellQuote).join(" ")}`;
}

/** Content hash of a bundle: sorted paths and contents, so any file change (and only that) changes it. */
export function bundleHashOf(files: Record<string, string>): string {
  const h = createHash("sha256");
  for (const p of Object.keys(files).sort()) h.update(`${p}\0${files[p]}\0`);
  return h.digest("hex").slice(0, 16);
}

/** Release id: what runs (bundle, which pins every image) and with which secrets. */
export function releaseIdOf(bundleHash: string, secretDigest: string): string {
  return sha256(`${bundleHash}\n${secretDigest}`).slice(0, 16);
}

export class HostDeployment extends pulumi.ComponentResource {
  public readonly release: pulumi.Output<string>;
  public readonly bundleHash: pulumi.Output<string>;
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: HostDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("freshtrack:host:Deployment", name, {}, opts);
    const { appDir } = args;
    const sudo = args.connection.user !== "root";
    const connection: command.types.input.remote.ConnectionArgs = {
      host: args.connection.host,
      port: args.connection.port,
      user: args.connection.user,
      privateKey: pulumi.secret(args.connection.privateKey),
      hostKey: pulumi.output(args.connection.hostKey).apply(normalizeHostKey),
      dialErrorLimit: DIAL_ERROR_LIMIT,
      perDialTimeout: PER_DIAL_TIMEOUT_S,
    };

    const bundle = pulumi.output(args.bundle);
    this.bundleHash = bundle.apply(bundleHashOf);
    const payload = pulumi.secret(args.secretFiles.apply(serializeSecretPayload));
    // Safe to reveal: a 64-bit prefix of SHA-256 over the whole payload, which
    // includes several 32+ character random passwords, so it cannot be inverted
    // or brute-forced even where one user-supplied value is weak. Revealing it
    // lets the release id (a plain name on the host and in outputs) follow rotations.
    const secretDigest = pulumi.unsecret(payload.apply(secretPayloadDigest));
    this.release = pulumi.all([this.bundleHash, secretDigest]).apply(([b, s]) => releaseIdOf(b, s));
    const releaseDir = this.bundleHash.apply((h) => `${appDir}/releases/${h}`);

    // Every step's triggers start with the machine's identity (when the target has one).
    const identity: pulumi.Input<string>[] = args.hostIdentity === undefined ? [] : [args.hostIdentity];
    const steps: Record<string, pulumi.Resource> = {};
    const after = (step: HostStep): pulumi.CustomResourceOptions => {
      const i = HOST_STEPS.indexOf(step);
      return { parent: this, dependsOn: i > 0 ? [steps[HOST_STEPS[i - 1]]] : [] };
    };

    steps.wait = new command.remote.Command(
      "wait",
      {
        connection,
        create: scriptCommand(hostScript("wait"), "wait", [String(args.waitForCloudInit), String(sudo)], false),
        ...(identity.length ? { triggers: identity } : {}),
        logging: "stdoutAndStderr",
      },
      after("wait"),
    );

    const bootstrapScript = hostScript("bootstrap");
    const bootstrap = bootstrapArgs({
      appDir,
      firewall: args.firewall,
      sshPort: args.connection.port,
      copyUser: args.connection.user,
      deployUser: args.deployUser,
    });
    steps.bootstrap = new command.remote.Command(
      "bootstrap",
      {
        connection,
        create: scriptCommand(bootstrapScript, "bootstrap", bootstrap, sudo),
        // The script and its inputs only: a new bundle never re-runs it.
        triggers: [...identity, sha256(bootstrapScript), JSON.stringify(bootstrap)],
        logging: "stdoutAndStderr",
      },
      after("bootstrap"),
    );

    // One text file (bundle-payload.ts): @pulumi/command 1.2.x copies a StringAsset, not an
    // AssetArchive. The trigger is the content hash, so any bundle change re-copies, nothing else does.
    steps["copy-bundle"] = new command.remote.CopyToRemote(
      "copy-bundle",
      {
        connection,
        source: bundle.apply((files) => new pulumi.asset.StringAsset(serializeBundle(files))),
        remotePath: this.bundleHash.apply((h) => `${appDir}/releases/${h}.bundle`),
        triggers: [...identity, this.bundleHash],
      },
      after("copy-bundle"),
    );

    const unpack = hostScript("unpack-bundle");
    steps["unpack-bundle"] = new command.remote.Command(
      "unpack-bundle",
      {
        connection,
        create: this.bundleHash.apply((h) => scriptCommand(unpack, "unpack-bundle", [appDir, h], sudo)),
        triggers: [...identity, this.bundleHash, sha256(unpack)],
        logging: "stdoutAndStderr",
      },
      after("unpack-bundle"),
    );

    const writeSecrets = hostScript("write-secrets");
    steps["write-secrets"] = new command.remote.Command(
      "write-secrets",
      {
        connection,
        // Each payload becomes its own generation APP_DIR/secrets.d/<digest>, never rewritten:
        // the running release's secrets change only when bin/deploy succeeds.
        create: secretDigest.apply((g) => scriptCommand(writeSecrets, "write-secrets", [appDir, g], sudo)),
        stdin: payload,
        // Nothing the script prints is secret, but stdin is: keep all of it out of logs.
        logging: "none",
        triggers: [...identity, secretDigest],
      },
      { ...after("write-secrets"), additionalSecretOutputs: ["stdin", "stdout", "stderr"] },
    );

    // The SFTP copy leaves 0644 files: make bin/ executable before running it.
    // bin/* find APP_DIR from their own path (APP_DIR/releases/<bundle-hash>/bin), and the
    // secret generation this push wrote from FT_SECRETS_GENERATION (a digest, not a secret).
    const inRelease = (script: string, extra: pulumi.Input<string>[]) =>
      pulumi
        .all([releaseDir, secretDigest, ...extra])
        .apply(([dir, gen, ...rest]) =>
          scriptCommand(
            `set -eu; rel=$1; gen=$2; shift 2; chmod 0755 "$rel"/bin/*; FT_SECRETS_GENERATION=$gen exec "$rel/bin/${script}" "$@"`,
            script,
            [dir, gen, ...rest],
            sudo,
          ),
        );
    steps.preflight = new command.remote.Command(
      "preflight",
      { connection, create: inRelease("preflight", []), triggers: [...identity, this.release], logging: "stdoutAndStderr" },
      after("preflight"),
    );
    steps.deploy = new command.remote.Command(
      "deploy",
      // bin/deploy takes the release directory's name; it finds changed secrets itself
      // (digests), so the trigger (bundle + secret digest) is what makes it run.
      { connection, create: inRelease("deploy", [this.bundleHash]), triggers: [...identity, this.release], logging: "stdoutAndStderr" },
      after("deploy"),
    );

    // Teardown owner token: differs whenever the provider would replace this
    // resource (connection, key or machine change), so the replaced instance's delete
    // sees a newer token on the host and stops nothing. Digest of the key only
    // (high-entropy, truncated), never the key. The machine's identity joins the
    // digest only where there is one, so vm tokens stay what they were.
    const token = pulumi.unsecret(
      pulumi
        .all([
          pulumi.output(args.connection.host),
          pulumi.output(connection.hostKey as pulumi.Input<string>),
          pulumi.output(args.connection.privateKey),
          pulumi.output(args.hostIdentity),
        ])
        .apply(([host, hostKey, key, id]) =>
          sha256(JSON.stringify([host, args.connection.port, args.connection.user, hostKey, sha256(key), appDir, ...(id === undefined ? [] : [id])])).slice(
            0,
            16,
          ),
        ),
    );
    const teardown = hostScript("teardown");
    new command.remote.Command(
      HOST_TEARDOWN_STEP,
      {
        connection,
        create: token.apply((t) => scriptCommand(teardown, "teardown", ["arm", appDir, t, String(args.purgeOnDelete)], sudo)),
        delete: token.apply((t) => scriptCommand(teardown, "teardown", ["run", appDir, t, String(args.purgeOnDelete)], sudo)),
        ...(identity.length ? { triggers: identity } : {}),
        logging: "stdoutAndStderr",
      },
      // Armed once the host layout exists, before anything can run.
      { parent: this, dependsOn: [steps.bootstrap] },
    );

    this.url = pulumi.output(args.url ?? pulumi.interpolate`https://${args.connection.host}`);
    this.registerOutputs({ release: this.release, bundleHash: this.bundleHash, url: this.url });
  }
}
