// The e2e harness: runs the REAL program under Pulumi's mocks with the vm stack pointed at a
// disposable loopback test host, then executes the program's own command:remote:* resources
// over real SSH in dependency (HOST_STEPS) order. It holds no copy of any step: every command,
// stdin and file comes from the planned resources' inputs. Between applies it keeps the last
// applied inputs per resource and decides create / unchanged / update / replace as the
// Pulumi engine and the command provider (1.2.x) do.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HOST_STEPS } from "../../components/shared/host";
import { BACKUP_REMOTE_KEYS } from "../../core/config";
import { localHostStackConfig } from "../../scripts/lib/local-host";
import { PlanResult, PlannedResource, ROOT } from "../../scripts/lib/program";
import { Connection, connect, exec, upload, uploadFile } from "./lib/remote";
import { TestHost } from "./lib/ssh-host";
import { appImages, imageOverrides } from "./stand-ins";

export const COMMAND = "command:remote:Command";
export const COPY = "command:remote:CopyToRemote";
export const DOMAIN = "freshtrack.test";

/** Every user secret gets a recognisable value: scenario 9 searches for them. */
export const USER_SECRETS: Record<string, string> = {
  stackAuthSecretKey: "E2ESECRETstackAuthSecretKeyX",
  ttnApiKey: "E2ESECRETttnApiKeyX",
  ttnAdminApiKey: "E2ESECRETttnAdminApiKeyX",
  stripeSecretKey: "E2ESECRETstripeSecretKeyX",
  stripeWebhookSecret: "E2ESECRETstripeWebhookSecretX",
  resendApiKey: "E2ESECRETresendApiKeyX",
  telnyxApiKey: "E2ESECRETtelnyxApiKeyX",
};

export interface StackInput {
  host: TestHost;
  appDir: string;
  tags: Record<string, string>;
  backendTag?: string;
  dbPasswordGeneration?: number;
  /** Further plain config keys a scenario sets (e.g. rateLimitMax), as `pulumi config set` would. */
  extraConfig?: Record<string, string>;
  /** Further secret config keys (`pulumi config set --secret`), e.g. moveVmSshPrivateKey. */
  extraSecrets?: Record<string, string>;
  /** The stack's outputs after its last `pulumi up` (what the program's self-reference reads). Absent: never deployed. */
  previousOutputs?: Record<string, unknown>;
  /**
   * Outputs of resources the engine keeps in its state between runs, by `type::name` (e.g. the
   * move's real transfer key): the mocks would invent an unusable value, a new one per plan.
   */
  stateOutputs?: Record<string, Record<string, unknown>>;
  /** Results of provider functions by token (e.g. getDatabaseCa: the managed database stand-in's CA). */
  invokeResults?: Record<string, Record<string, unknown>>;
  redisPasswordGeneration?: number;
  jwtSecretGeneration?: number;
  /** The off-host backup remote (a second S3 server standing in for the operator's storage). */
  backupRemote?: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

/** Config a user would set for this host: `pulumi config set ...` equivalents. */
export function stackConfig(s: StackInput): { set: Record<string, unknown>; secretSet: string[] } {
  const set: Record<string, unknown> = {
    // target, host, port, user, pinned host key, tlsMode internal, no ufw: as the `local` stack.
    ...localHostStackConfig(s.host),
    domain: DOMAIN,
    operatorEmail: "ops@freshtrack.test",
    observability: "false",
    stackAuthProjectId: "e2e-project-0001",
    vmSshPrivateKey: s.host.privateKey,
    vmAppDir: s.appDir,
    imageOverrides: imageOverrides(s.tags),
    // The stand-ins are built on this machine and live in no registry: nothing to look up.
    // (Under the mocks a lookup would "succeed" with an invented digest the pull cannot find.)
    imageDigests: "false",
    ...appImages(s.tags, s.backendTag),
    ...USER_SECRETS,
  };
  if (s.dbPasswordGeneration) set.dbPasswordGeneration = String(s.dbPasswordGeneration);
  Object.assign(set, s.extraConfig ?? {});
  if (s.redisPasswordGeneration) set.redisPasswordGeneration = String(s.redisPasswordGeneration);
  if (s.jwtSecretGeneration) set.jwtSecretGeneration = String(s.jwtSecretGeneration);
  Object.assign(set, s.extraSecrets ?? {});
  const secretSet = ["vmSshPrivateKey", ...Object.keys(USER_SECRETS), ...Object.keys(s.extraSecrets ?? {})];
  if (s.backupRemote) {
    // Backups leave the host, as every real vm stack's must (the local stack says on-host-only).
    delete set.vmBackupOnHostOnly;
    Object.assign(set, {
      vmBackupRemoteEndpoint: s.backupRemote.endpoint,
      vmBackupRemoteBucket: s.backupRemote.bucket,
      vmBackupRemoteAccessKeyId: s.backupRemote.accessKeyId,
      vmBackupRemoteSecretAccessKey: s.backupRemote.secretAccessKey,
      // The stand-in is SeaweedFS, not the example stack's Wasabi: rclone addresses Wasabi
      // virtual-host style (bucket.host), which an IP endpoint cannot serve.
      vmBackupRemoteProvider: "SeaweedFS",
      vmBackupRemoteRegion: "us-east-1",
    });
    secretSet.push("vmBackupRemoteSecretAccessKey");
  } else {
    // No remote given (scenario 14's hosts): on-host-only as the local stack says, so the example
    // stack file's remote (Pulumi.vm.yaml) must not come along: an empty key is an unset one.
    for (const key of BACKUP_REMOTE_KEYS) set[key] = "";
  }
  return { set, secretSet };
}

/**
 * A frozen copy of the program (tracked and untracked files, node_modules linked), taken once
 * per run: every apply of the run plans the same code even while the working tree changes.
 */
export function snapshotProgram(dest: string): string {
  fs.mkdirSync(dest, { recursive: true });
  const r = spawnSync(
    "bash",
    [
      "-c",
      'cd "$1" && git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$2"',
      "snap",
      ROOT,
      dest,
    ],
    { encoding: "utf8" },
  );
  if (!fs.existsSync(path.join(dest, "index.ts"))) throw new Error(`snapshot of the program failed: ${r.stderr}`);
  // A checkout whose node_modules is itself an (untracked) symlink has just had it copied.
  fs.rmSync(path.join(dest, "node_modules"), { force: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dest, "node_modules"));
  return dest;
}

/** Runs the program once, in a child process (one stack per process), from `programRoot` (a snapshot) or the checkout. Async: load keeps flowing meanwhile. */
export async function plan(s: StackInput, workDir: string, programRoot: string = ROOT): Promise<PlanResult> {
  const { set, secretSet } = stackConfig(s);
  const inFile = path.join(workDir, "plan-in.json");
  const outFile = path.join(workDir, "plan-out.json");
  fs.writeFileSync(
    inFile,
    JSON.stringify({ stack: "vm", set, secretSet, previousOutputs: s.previousOutputs, stateOutputs: s.stateOutputs, invokeResults: s.invokeResults }),
    { mode: 0o600 },
  );
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(programRoot, "tests", "e2e", "lib", "plan-child.ts"), inFile, outFile],
    { cwd: programRoot, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? -1)));
  fs.rmSync(inFile, { force: true });
  if (code !== 0) throw new Error(`program failed under mocks:\n${stderr}`);
  const result = JSON.parse(fs.readFileSync(outFile, "utf8")) as PlanResult;
  fs.rmSync(outFile, { force: true });
  return result;
}

/** {"$secret": v} -> v, recursively. */
export function unwrap(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(unwrap);
  const o = v as Record<string, unknown>;
  if ("$secret" in o && Object.keys(o).length === 1) return unwrap(o.$secret);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
}

/** Every secret value in the plan (the leaves of {"$secret": ...}), plus the ones inside the secret-file payload. */
export function secretValues(p: PlanResult, publicValues: string[] = []): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, inSecret: boolean) => {
    if (typeof v === "string") {
      if (inSecret) {
        out.add(v);
        for (const m of v.match(/(RNDSECRET|DUMMYSECRET|E2ESECRET)[A-Za-z0-9]*X/g) ?? []) out.add(m);
        // The secret-file payload: `<path> <uid> <base64>` lines.
        for (const line of v.split("\n")) {
          const parts = line.split(" ");
          if (parts.length === 3 && /^[A-Za-z0-9+/=]+$/.test(parts[2])) {
            const text = Buffer.from(parts[2], "base64").toString("utf8");
            for (const m of text.match(/(RNDSECRET|DUMMYSECRET|E2ESECRET)[A-Za-z0-9]*X/g) ?? []) out.add(m);
          }
        }
      }
      return;
    }
    if (v === null || typeof v !== "object") return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, inSecret));
    const o = v as Record<string, unknown>;
    if ("$secret" in o && Object.keys(o).length === 1) return walk(o.$secret, true);
    Object.values(o).forEach((x) => walk(x, inSecret));
  };
  p.resources.forEach((r) => walk(r.inputs, false));
  for (const v of Object.values(USER_SECRETS)) out.add(v);
  // Whole multi-line values (the SSH key, the payload) are searched by their distinctive lines.
  const result = new Set<string>();
  for (const v of out) {
    if (v.includes("\n"))
      v.split("\n")
        .filter((l) => l.length >= 16 && !/^-----/.test(l))
        .forEach((l) => result.add(l));
    else if (v.length >= 8) result.add(v);
  }
  // Under mocks a whole object containing one secret is wrapped (e.g. the SSH connection): its
  // public fields (host, user, host key) are plain config values, not secrets.
  const pub = new Set(publicValues);
  return [...result].filter((v) => !pub.has(v));
}

/** Where each of `values` occurs in `places` ("place: first six characters…", never the whole value), and how much was searched. */
export function findSecrets(values: string[], places: Record<string, string>): { leaks: string[]; bytesSearched: Record<string, number> } {
  const leaks = Object.entries(places).flatMap(([where, text]) => values.filter((v) => text.includes(v)).map((v) => `${where}: ${v.slice(0, 6)}…`));
  return { leaks, bytesSearched: Object.fromEntries(Object.entries(places).map(([k, v]) => [k, v.length])) };
}

/** Non-secret config values of a stack (host, user, host key, image refs, ...). */
export function publicConfigValues(s: StackInput): string[] {
  const { set, secretSet } = stackConfig(s);
  return Object.entries(set)
    .filter(([k]) => !secretSet.includes(k))
    .flatMap(([, v]) => (Array.isArray(v) ? v.map(String) : [String(v)]));
}

/** The host a remote step runs on (HOST:PORT of its connection). */
export function stepHost(r: PlannedResource): string {
  const c = (unwrap(r.inputs) as { connection?: Connection }).connection;
  return `${c?.host}:${c?.port ?? 22}`;
}

/**
 * A remote step's identity between applies: its name on its host. During a move both sides
 * declare the same step names (wait, bootstrap, ... under two targets); their URNs differ by
 * parent, which the mock runtime's `type::name` keys do not show, their hosts always do.
 */
export function stepKey(r: PlannedResource): string {
  return `${stepHost(r)} ${r.name}`;
}

/** The remote command resources, in dependency order (HOST_STEPS first among equals). */
export function remoteSteps(p: PlanResult): PlannedResource[] {
  const steps = p.resources.filter((r) => r.type === COMMAND || r.type === COPY);
  // dependsOn names `type::name` only: with two hosts, a step waits for that step on every host
  // (stricter than the engine, never looser). HOST_STEPS keeps each host's chain in order.
  const key = (r: PlannedResource) => `${r.type}::${r.name}`;
  const pending = (k: string, except: PlannedResource) => steps.some((s) => s !== except && key(s) === k && !done.has(stepKey(s)));
  const rank = (r: PlannedResource) => {
    const i = (HOST_STEPS as readonly string[]).indexOf(r.name);
    return i < 0 ? HOST_STEPS.length : i;
  };
  const done = new Set<string>();
  const out: PlannedResource[] = [];
  while (out.length < steps.length) {
    const ready = steps.filter((r) => !done.has(stepKey(r)) && (r.options.dependsOn ?? []).every((d) => !pending(d, r)));
    if (!ready.length) throw new Error("dependency cycle among remote steps");
    ready.sort((a, b) => rank(a) - rank(b));
    out.push(ready[0]);
    done.add(stepKey(ready[0]));
  }
  // Each host's chain must be exactly HOST_STEPS, in order (docs/design.md).
  for (const h of new Set(out.map(stepHost))) {
    const chain = out.filter((r) => stepHost(r) === h && (HOST_STEPS as readonly string[]).includes(r.name)).map((r) => r.name);
    if (chain.join(",") !== HOST_STEPS.join(",")) throw new Error(`remote steps on ${h}: ${chain.join(",")} are not HOST_STEPS ${HOST_STEPS.join(",")}`);
  }
  return out;
}

export type Action = "create" | "unchanged" | "update" | "replace" | "delete";

export interface StepReport {
  name: string;
  type: string;
  action: Action;
  seconds: number;
  stdout: string;
  stderr: string;
  filesCopied?: number;
}

export class StepError extends Error {
  constructor(
    public readonly step: string,
    public readonly code: number,
    public readonly stdout: string,
    public readonly stderr: string,
  ) {
    super(`step ${step} exited ${code}:\n${stderr.slice(-3000) || stdout.slice(-3000)}`);
  }
}

/** Engine state between applies: the last applied inputs of each remote step. */
export class Applier {
  private state = new Map<string, PlannedResource>();
  /** Every byte of every command's output, for the secret scan. */
  public readonly outputs: string[] = [];
  /** Inputs the real command provider would not accept (reported; they fail the run). */
  public readonly incompatibilities: string[] = [];

  constructor(private readonly verbose = true) {}

  decide(r: PlannedResource): { action: Action; prev?: PlannedResource } {
    const prev = this.state.get(stepKey(r));
    if (!prev) return { action: "create" };
    if (JSON.stringify(prev.inputs) === JSON.stringify(r.inputs)) return { action: "unchanged", prev };
    const changed = Object.keys({ ...prev.inputs, ...r.inputs }).filter((k) => JSON.stringify(prev.inputs[k]) !== JSON.stringify(r.inputs[k]));
    // Only `delete`/`logging` changed: an in-place update of state, nothing runs.
    if (changed.every((k) => k === "delete" || k === "logging")) return { action: "update", prev };
    if (r.type === COMMAND && r.inputs.update !== undefined && !changed.includes("triggers") && !changed.includes("connection"))
      return { action: "update", prev };
    return { action: "replace", prev };
  }

  /**
   * Runs the plan's remote steps as the engine would. `cut`: the deploying machine's connection of
   * that step is closed once its output matches `when` (a laptop shut, an interrupted `pulumi up`):
   * the step fails as the engine would report it, and is not recorded (a run again re-creates it).
   */
  async apply(p: PlanResult, opts: { only?: string[]; cut?: { step: string; when: RegExp } } = {}): Promise<StepReport[]> {
    const reports: StepReport[] = [];
    for (const r of remoteSteps(p)) {
      if (opts.only && !opts.only.includes(r.name)) continue;
      const { action, prev } = this.decide(r);
      const inputs = unwrap(r.inputs) as Record<string, unknown>;
      const conn = inputs.connection as Connection;
      const t0 = Date.now();
      let stdout = "";
      let stderr = "";
      let filesCopied: number | undefined;
      const runs =
        action === "create" ||
        action === "replace" ||
        (action === "update" && r.type === COMMAND && inputs.update !== undefined && prev && JSON.stringify(prev.inputs.update) !== undefined);
      if (runs) {
        const client = await connect(conn);
        try {
          if (r.type === COPY) {
            const src = inputs.source as { $archive?: Record<string, { $asset?: string }>; $asset?: string; $file?: string };
            const remotePath = String(inputs.remotePath);
            if (src.$archive) {
              // @pulumi/command 1.2.x cannot copy an AssetArchive (only FileAsset/FileArchive paths):
              // copied anyway so the other scenarios run, but reported as a provider incompatibility.
              this.incompatibilities.push(`${r.name}: source is an AssetArchive, which @pulumi/command 1.2.x CopyToRemote cannot copy`);
              const files = Object.fromEntries(Object.entries(src.$archive).map(([k, a]) => [k, a.$asset ?? ""]));
              filesCopied = await upload(client, remotePath, files);
            } else if (src.$asset !== undefined || src.$file !== undefined) {
              const content = src.$asset ?? fs.readFileSync(String(src.$file), "utf8");
              filesCopied = await uploadFile(client, remotePath, content);
            } else throw new Error(`${r.name}: unsupported CopyToRemote source ${JSON.stringify(Object.keys(src))}`);
          } else {
            const cmd = String(action === "update" ? inputs.update : inputs.create);
            if (this.verbose) console.log(`  -> ${r.name} (${action})`);
            const cut = opts.cut?.step === r.name ? opts.cut.when : undefined;
            let seen = "";
            const onOutput = cut
              ? (s: string) => {
                  seen += s;
                  if (cut.test(seen)) client.end();
                }
              : undefined;
            const res = await exec(client, cmd, {
              stdin: inputs.stdin as string | undefined,
              env: inputs.environment as Record<string, string> | undefined,
              onOutput,
            });
            stdout = res.stdout;
            stderr = res.stderr;
            this.outputs.push(stdout, stderr);
            if (res.code !== 0) throw new StepError(r.name, res.code, stdout, stderr);
            // Replacement (create-before-delete): the old instance's delete runs after the new create.
            if (action === "replace" && prev) {
              const old = unwrap(prev.inputs) as Record<string, unknown>;
              if (old.delete) {
                const d = await exec(client, String(old.delete));
                this.outputs.push(d.stdout, d.stderr);
                if (d.code !== 0) throw new StepError(`${r.name} (delete of replaced)`, d.code, d.stdout, d.stderr);
              }
            }
          }
        } finally {
          client.end();
        }
      }
      this.state.set(stepKey(r), r);
      const rep: StepReport = { name: r.name, type: r.type, action, seconds: (Date.now() - t0) / 1000, stdout, stderr, filesCopied };
      if (this.verbose)
        console.log(`  ${r.name.padEnd(14)} ${action.padEnd(9)} ${rep.seconds.toFixed(1)} s${filesCopied !== undefined ? ` (${filesCopied} files)` : ""}`);
      reports.push(rep);
    }
    if (!opts.only) reports.push(...(await this.deleteRemoved(p)));
    return reports;
  }

  /** Steps of the last apply that the plan no longer declares: the engine deletes them (their `delete` runs), last first. */
  private async deleteRemoved(p: PlanResult): Promise<StepReport[]> {
    const declared = new Set(remoteSteps(p).map(stepKey));
    const reports: StepReport[] = [];
    for (const [k, prev] of [...this.state].reverse()) {
      if (declared.has(k)) continue;
      const old = unwrap(prev.inputs) as Record<string, unknown>;
      const t0 = Date.now();
      let stdout = "";
      let stderr = "";
      if (prev.type === COMMAND && old.delete) {
        const client = await connect(old.connection as Connection);
        try {
          const d = await exec(client, String(old.delete));
          stdout = d.stdout;
          stderr = d.stderr;
          this.outputs.push(stdout, stderr);
          if (d.code !== 0) throw new StepError(`${prev.name} (delete)`, d.code, stdout, stderr);
        } finally {
          client.end();
        }
      }
      this.state.delete(k);
      const rep: StepReport = { name: prev.name, type: prev.type, action: "delete", seconds: (Date.now() - t0) / 1000, stdout, stderr };
      if (this.verbose) console.log(`  ${prev.name.padEnd(14)} delete    ${rep.seconds.toFixed(1)} s`);
      reports.push(rep);
    }
    return reports;
  }
}

/** Runs one planned step's command again regardless of state (e.g. a second `deploy`), returning its result. */
export async function runStepCommand(
  p: PlanResult,
  name: string,
  which: "create" | "delete" = "create",
): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const r = remoteSteps(p).find((s) => s.name === name);
  if (!r) throw new Error(`no remote step ${name}`);
  const inputs = unwrap(r.inputs) as Record<string, unknown>;
  const client = await connect(inputs.connection as Connection);
  try {
    return await exec(client, String(inputs[which]), { stdin: inputs.stdin as string | undefined });
  } finally {
    client.end();
  }
}

/** An operator's command on the host over the same pinned SSH connection (bin/rollback, bin/backup, ...). */
/** A command's result on the host under test (hostCommand). */
export interface HostRun {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export async function hostCommand(p: PlanResult, command: string, stdin?: string): Promise<HostRun> {
  const r = remoteSteps(p)[0];
  const client = await connect((unwrap(r.inputs) as { connection: Connection }).connection);
  try {
    return await exec(client, command, { stdin });
  } finally {
    client.end();
  }
}
