// A disposable test host: this machine's own sshd binary on 127.0.0.1:<free port>, with a
// freshly generated host key and a generated root login key, in a private mount namespace
// where /etc/docker and /etc/cron.d are scratch directories (bootstrap may write daemon.json,
// the deploy writes the backup schedule; the machine's real ones are never touched). Commands run as root against this machine's
// Docker engine, which is the "host" the stack is deployed to.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface TestHost {
  host: string;
  port: number;
  /** "ssh-ed25519 AAAA..." (no comment), pinned through config as vmHostKey. */
  hostKeyLine: string;
  /** OpenSSH private key of root's login key (config secret vmSshPrivateKey). */
  privateKey: string;
  dir: string;
  stop(): Promise<void>;
}

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

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startTestHost(dir: string): Promise<TestHost> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "freshtrack-e2e", "-f", file], { stdio: "ignore" });
  const hostKey = path.join(dir, "ssh_host_ed25519_key");
  const clientKey = path.join(dir, "root_login_key");
  keygen(hostKey);
  keygen(clientKey);
  fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const scratchDocker = path.join(dir, "etc-docker");
  fs.mkdirSync(scratchDocker, { recursive: true });
  // The deploy installs /etc/cron.d/freshtrack-backup: the test host gets its own /etc/cron.d,
  // so a cron daemon of this machine never runs a test stack's backups.
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
  const proc: ChildProcess = spawn(
    "unshare",
    ["--mount", "--propagation", "private", "--", "sh", "-c", 'mount --bind "$1" /etc/docker && mkdir -p /etc/cron.d && mount --bind "$3" /etc/cron.d && exec /usr/sbin/sshd -D -e -f "$2"', "sshd-ns", scratchDocker, conf, scratchCron],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let errText = "";
  proc.stderr?.on("data", (d: Buffer) => (errText += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  try {
    await waitForPort(port, 10000);
  } catch (e) {
    proc.kill("SIGTERM");
    throw new Error(`${(e as Error).message}: ${errText}`);
  }
  const hostKeyLine = fs.readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  return {
    host: "127.0.0.1",
    port,
    hostKeyLine,
    privateKey: fs.readFileSync(clientKey, "utf8"),
    dir,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
    },
  };
}
