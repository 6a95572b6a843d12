// Runs the program's command:remote:* resources over real SSH with ssh2, the way the
// Pulumi command provider does: host key checked against the pinned `hostKey` (an exact
// key match, like ssh.FixedHostKey), `create` run as one exec request, `stdin` written
// then closed, `environment` sent as SSH env requests (which sshd drops unless AcceptEnv
// allows them, as with the provider), non-zero exit = failure. CopyToRemote uploads the
// archive's files over SFTP under remotePath.
import { Client, ConnectConfig, SFTPWrapper } from "ssh2";
import * as path from "path";

export interface Connection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

function pinnedKey(line: string): Buffer {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2) throw new Error(`hostKey "${line}" is not "TYPE BASE64"`);
  return Buffer.from(parts[1], "base64");
}

/**
 * Host names only the disposable hosts' network resolves (their Docker DNS), with the address
 * this machine dials for each: the deploying machine's own DNS, stood in.
 */
export const RUNNER_HOSTS = new Map<string, string>();

export async function connect(c: Connection): Promise<Client> {
  if (!c.hostKey) throw new Error("connection has no hostKey: the harness, like the program, never skips host key checks");
  const expected = pinnedKey(c.hostKey);
  let lastError: unknown;
  const attempts = Math.min(c.dialErrorLimit ?? 10, 20);
  for (let i = 0; i < attempts; i++) {
    try {
      return await new Promise<Client>((resolve, reject) => {
        const client = new Client();
        let mismatch = false;
        const cfg: ConnectConfig = {
          host: RUNNER_HOSTS.get(c.host) ?? c.host,
          port: c.port ?? 22,
          username: c.user ?? "root",
          privateKey: c.privateKey,
          readyTimeout: (c.perDialTimeout ?? 15) * 1000,
          hostVerifier: (key: Buffer) => {
            const ok = Buffer.compare(key, expected) === 0;
            if (!ok) mismatch = true;
            return ok;
          },
        };
        client.once("ready", () => resolve(client));
        client.once("error", (e) => reject(mismatch ? new Error(`ssh: host key mismatch for ${c.host}:${c.port}: refusing to connect`) : e));
        client.connect(cfg);
      });
    } catch (e) {
      lastError = e;
      if (/host key mismatch|authentication/i.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw lastError;
}

export async function exec(
  client: Client,
  command: string,
  opts: { stdin?: string; env?: Record<string, string>; onOutput?: (s: string) => void } = {},
): Promise<ExecResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    client.exec(command, { env: opts.env }, (err, stream) => {
      if (err) return reject(err);
      let stdout = "";
      let stderr = "";
      stream.on("data", (d: Buffer) => {
        stdout += d.toString();
        opts.onOutput?.(d.toString());
      });
      stream.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        opts.onOutput?.(d.toString());
      });
      stream.on("close", (code: number | null) => resolve({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
      if (opts.stdin !== undefined) stream.end(opts.stdin);
      else stream.end();
    });
  });
}

function sftpOf(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/** Writes files (relative path -> content) under remotePath: remotePath itself is created if missing (its parent must exist). */
export async function upload(client: Client, remotePath: string, files: Record<string, string>): Promise<number> {
  const sftp = await sftpOf(client);
  const made = new Set<string>();
  const mkdir = async (dir: string) => {
    if (made.has(dir)) return;
    try {
      await sftpCall<void>((cb) => sftp.mkdir(dir, { mode: 0o755 }, (e) => cb(e)));
    } catch (e) {
      const exists = await sftpCall((cb) => sftp.stat(dir, (err, st) => cb(err, st))).catch(() => undefined);
      if (!exists) throw new Error(`sftp mkdir ${dir}: ${(e as Error).message}`);
    }
    made.add(dir);
  };
  await mkdir(remotePath);
  let n = 0;
  for (const rel of Object.keys(files).sort()) {
    const dest = path.posix.join(remotePath, rel);
    const parts = path.posix.relative(remotePath, path.posix.dirname(dest)).split("/").filter(Boolean);
    let cur = remotePath;
    for (const p of parts) {
      cur = path.posix.join(cur, p);
      await mkdir(cur);
    }
    await sftpCall<void>((cb) => sftp.writeFile(dest, files[rel], { mode: 0o644 }, (e) => cb(e)));
    n++;
  }
  sftp.end();
  return n;
}

/** One asset to remotePath (into it, as `asset`, when remotePath is an existing directory). */
export async function uploadFile(client: Client, remotePath: string, content: string): Promise<number> {
  const sftp = await sftpOf(client);
  const st = await sftpCall<{ isDirectory(): boolean }>((cb) => sftp.stat(remotePath, (err, s) => cb(err, s))).catch(() => undefined);
  const dest = st?.isDirectory() ? path.posix.join(remotePath, "asset") : remotePath;
  await sftpCall<void>((cb) => sftp.writeFile(dest, content, { mode: 0o644 }, (e) => cb(e)));
  sftp.end();
  return 1;
}
