// Small helpers over this machine's Docker engine (the test host's engine).
import { execFile, execFileSync, spawnSync } from "child_process";

export const PROJECT = "freshtrack";

export function sh(
  cmd: string,
  args: string[],
  opts: { input?: string; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, env: opts.env, timeout: opts.timeoutMs ?? 300000, maxBuffer: 64 * 1024 * 1024 });
  const res = { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (res.code !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} exited ${res.code}: ${res.stderr.slice(-2000)}`);
  return res;
}

/** Container ids of the project (running only unless all), optionally of one service. */
export function containers(service?: string, all = false): string[] {
  const args = ["ps", "-q", "--no-trunc", "--filter", `label=com.docker.compose.project=${PROJECT}`];
  if (service) args.push("--filter", `label=com.docker.compose.service=${service}`);
  if (all) args.push("-a");
  return sh("docker", args).stdout.split("\n").filter(Boolean).sort();
}

/** service -> sorted container ids, for "nothing restarted" checks. */
export function containerMap(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const r = sh("docker", [
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    `label=com.docker.compose.project=${PROJECT}`,
    "--format",
    '{{.ID}} {{.Label "com.docker.compose.service"}} {{.State}}',
  ]);
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const [id, svc, state] = line.split(" ");
    if (state !== "running") continue;
    (out[svc] ??= []).push(id);
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

/** psql as the superuser inside the postgres container (trust over the local socket). */
export function psql(sql: string, db = "frostguard"): string {
  const id = containers("postgres")[0];
  if (!id) throw new Error("no running postgres container");
  return sh("docker", ["exec", "-i", id, "psql", "-U", "postgres", "-d", db, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout.trim();
}

/** Removes every container, network and volume of the project (a bare host for scenario 1). */
export function purgeProject(): void {
  const ids = containers(undefined, true);
  if (ids.length) sh("docker", ["rm", "-f", ...ids]);
  const vols = sh("docker", ["volume", "ls", "-q", "--filter", `name=^${PROJECT}_`])
    .stdout.split("\n")
    .filter(Boolean);
  if (vols.length) sh("docker", ["volume", "rm", "-f", ...vols], { allowFail: true });
  const nets = sh("docker", ["network", "ls", "-q", "--filter", `label=com.docker.compose.project=${PROJECT}`])
    .stdout.split("\n")
    .filter(Boolean);
  if (nets.length) sh("docker", ["network", "rm", ...nets], { allowFail: true });
}

export function inspectAll(): string {
  const ids = containers(undefined, true);
  return ids.length ? execFileSync("docker", ["inspect", ...ids], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }) : "";
}

export function logsAll(): string {
  return containers(undefined, true)
    .map((id) => {
      const r = sh("docker", ["logs", id], { allowFail: true });
      return r.stdout + r.stderr;
    })
    .join("\n");
}

/** Async variant: the load generator keeps its rate while this runs. */
export function shAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", env: opts.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? (err as unknown as { code: number }).code : 1) : 0;
      resolve({ code, stdout: stdout ?? "", stderr: stderr ?? "" });
    });
  });
}
