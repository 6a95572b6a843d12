// A disposable "customer host" on this machine: this machine's own sshd on
// 127.0.0.1:<free port>, with its own generated host key and root login key, in a
// private mount namespace where /etc/docker and /etc/cron.d are scratch directories (bootstrap may
// write daemon.json; the engine's real config is never touched). Commands run as
// root against this machine's Docker engine, which is the "host" the vm target
// deploys to. ONE code path for both users: the end-to-end test starts it attached
// (it dies with the test), `npm run local-host` starts it detached for the `local`
// stack and stops it with `--down`.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface LocalHost {
  host: string;
  port: number;
  /** "ssh-ed25519 AAAA..." (no comment), pinned through config as vmHostKey. */
  hostKeyLine: string;
  /** OpenSSH private key of root's login key (config secret vmSshPrivateKey). */
  privateKey: string;
  /** File holding privateKey (0600). */
  privateKeyFile: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/** What a detached host leaves in its directory, so `--down` (another process) can stop it. */
export interface LocalHostState {
  pid: number;
  port: number;
  host: string;
  hostKeyLine: string;
  sshdConfig: string;
}

export const STATE_FILE = "host.json";
const HOST_KEY = "ssh_host_ed25519_key";
const CLIENT_KEY = "root_login_key";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to host:port opens; with `timeoutMs`, false when none does in time (a firewall that drops answers nothing). */
export async function portOpen(port: number, host = "127.0.0.1", timeoutMs?: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const c = net.connect(port, host);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
    if (timeoutMs !== undefined)
      c.setTimeout(timeoutMs, () => {
        c.destroy();
        resolve(false);
      });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await portOpen(port)) return;
    if (Date.now() > end) throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartOptions {
  /** Survive this process (npm run local-host); default: a child that dies with it (e2e). */
  detached?: boolean;
  /** Keep the keys already in `dir` (a restarted local host keeps its pinned key). Default: always new keys. */
  reuseKeys?: boolean;
}

/** The pinned-key line of a public key file: "TYPE BASE64", no comment. */
function keyLine(pubFile: string): string {
  return fs.readFileSync(pubFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

export async function startLocalHost(dir: string, opts: StartOptions = {}): Promise<LocalHost> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keygen = (file: string) => {
    if (opts.reuseKeys && fs.existsSync(file) && fs.existsSync(`${file}.pub`)) return;
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "freshtrack-local-host", "-f", file], { stdio: "ignore" });
  };
  const hostKey = path.join(dir, HOST_KEY);
  const clientKey = path.join(dir, CLIENT_KEY);
  keygen(hostKey);
  keygen(clientKey);
  fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const scratchDocker = path.join(dir, "etc-docker");
  fs.mkdirSync(scratchDocker, { recursive: true });
  // The deploy installs /etc/cron.d/freshtrack-backup: the host gets its own /etc/cron.d,
  // so this machine's cron daemon never runs a disposable stack's backups.
  const scratchCron = path.join(dir, "etc-cron.d");
  fs.mkdirSync(scratchCron, { recursive: true });
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  const conf = path.join(dir, "sshd_config");
  fs.writeFileSync(
    conf,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      // As a stock Debian sshd: environment set by the client is dropped except locale.
      "AcceptEnv LANG LC_*",
      "Subsystem sftp internal-sftp",
      "MaxSessions 30",
      "MaxStartups 60:30:100",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const logFd = opts.detached ? fs.openSync(path.join(dir, "sshd.log"), "a", 0o600) : undefined;
  // unshare execs sh, which execs sshd: the child's pid is sshd's.
  const proc: ChildProcess = spawn(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount --bind "$1" /etc/docker && mkdir -p /etc/cron.d && mount --bind "$3" /etc/cron.d && exec /usr/sbin/sshd -D -e -f "$2"',
      "sshd-ns",
      scratchDocker,
      conf,
      scratchCron,
    ],
    { stdio: ["ignore", logFd ?? "ignore", logFd ?? "pipe"], detached: opts.detached === true },
  );
  if (logFd !== undefined) fs.closeSync(logFd);
  let errText = "";
  proc.stderr?.on("data", (d: Buffer) => (errText += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  try {
    await waitForPort(port, 10000);
  } catch (e) {
    proc.kill("SIGTERM");
    const log = opts.detached && fs.existsSync(path.join(dir, "sshd.log")) ? fs.readFileSync(path.join(dir, "sshd.log"), "utf8") : errText;
    throw new Error(`${(e as Error).message}: ${log}`);
  }
  if (opts.detached) proc.unref();
  const hostKeyLine = keyLine(`${hostKey}.pub`);
  const pid = proc.pid!;
  const state: LocalHostState = { pid, port, host: "127.0.0.1", hostKeyLine, sshdConfig: conf };
  fs.writeFileSync(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  return {
    host: "127.0.0.1",
    port,
    hostKeyLine,
    privateKey: fs.readFileSync(clientKey, "utf8"),
    privateKeyFile: clientKey,
    dir,
    pid,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
    },
  };
}

/** The state of a detached host in `dir`, if its sshd (that very process, checked by its command line) still runs. */
export function runningLocalHost(dir: string): LocalHostState | undefined {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as LocalHostState;
  return isOurSshd(state) ? state : undefined;
}

/** True only for the sshd we started: a recycled pid belonging to anything else is never signalled. */
function isOurSshd(state: LocalHostState): boolean {
  try {
    // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f CONF [listener] ..."): match the text.
    const cmdline = fs.readFileSync(`/proc/${state.pid}/cmdline`, "utf8").replace(/\0/g, " ");
    return cmdline.includes("sshd") && cmdline.includes(` ${state.sshdConfig}`);
  } catch {
    return false;
  }
}

/** Stops the detached host of `dir` (its sshd, by pid, after checking it is ours). Returns whether one was running. */
export async function stopLocalHost(dir: string): Promise<boolean> {
  const state = runningLocalHost(dir);
  if (!state) return false;
  process.kill(state.pid, "SIGTERM");
  const end = Date.now() + 5000;
  while (isOurSshd(state) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return true;
}

/** The stack config that points the vm target at a local host: one definition for the e2e and the `local` stack. */
export function localHostStackConfig(h: { host: string; port: number; hostKeyLine: string }): Record<string, string> {
  return {
    target: "vm",
    vmHost: h.host,
    vmPort: String(h.port),
    vmUser: "root",
    vmHostKey: h.hostKeyLine,
    // No public DNS for a host on loopback: Caddy's own CA.
    tlsMode: "internal",
    // ufw would filter the operator's own machine.
    vmFirewall: "false",
    // A throwaway host on the operator's own machine: its backups stay on it, said explicitly.
    vmBackupOnHostOnly: "true",
  };
}
