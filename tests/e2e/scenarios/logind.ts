// e2e scenario 19: a host whose systemd-logind ends a login's processes when its connection
// drops. A step the deploying machine runs over SSH goes on by itself when that connection is
// cut (lib/log.sh ft_log_outlive), unless logind ends the session's processes (the step, its
// output's tee, the sudo in front of it): then it stops half-way. bin/preflight's `session`
// check must say so before a deploy, with a fix that works. Checked on a real systemd host
// (systemd as PID 1, logind, PAM sessions, sshd, sudo) with the release serving on the stack's
// host (the program pushed it): for each logind setting, what preflight says, and what happens
// to a step whose connection is cut (the effect the check is about); where preflight fails, its
// printed fix is run as printed and both are checked again.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { shellQuote } from "../../../components/shared/host";
import { buildStandIn } from "../lib/build";
import { freshKey, keyLine } from "../lib/disposable-host";
import { sh } from "../lib/docker";
import { StandIn } from "../stand-ins";

export interface LogindDeps {
  /** APP_DIR of the stack's host: its `current` release is copied onto the systemd host. */
  appDir: string;
  work: string;
  record(fig: Record<string, unknown>): void;
  check(cond: boolean, msg: string): void;
}

const IMAGE: StandIn = { key: "logind-host" as StandIn["key"], dir: "images/logind-host", replaces: "a customer's Debian 12 VM with systemd and logind" };
export const LOGIND_HOST = "freshtrack-e2e-logind";
const APP_DIR = "/opt/freshtrack";
const STEP = "/usr/local/sbin/ft-cut-step";
/** Seconds the step runs (one message a second). */
const STEP_SECONDS = 8;
/** The connection is cut once the step said this message. */
const CUT_AFTER_MESSAGE = 2;

/**
 * The step whose connection is cut: the release's own lib, so it outlives its connection
 * exactly as bin/deploy and bin/move-* do (ft_log_outlive), then one message a second.
 */
const STEP_SCRIPT = `#!/usr/bin/env bash
set -Eeuo pipefail
# shellcheck source=/dev/null
source ${APP_DIR}/current/bin/lib.sh
ft_paths_resolve
ft_log_outlive cut-step
for ((i = 1; i <= $1; i++)); do log "step $i of $1"; echo "$i" >"$STATE_DIR/cut-step.done"; sleep 1; done
`;

interface Case {
  name: string;
  /** The [Login] lines of the host's logind drop-in; none: Debian's defaults. */
  login: string[];
  /** systemd-logind masked and stopped after the drop-in is written. */
  mask?: boolean;
  user: "deploy" | "root";
  /** What preflight must say, and whether a cut step must finish. */
  preflight: "ok" | "FAIL";
}

const CASES: Case[] = [
  { name: "debian_defaults", login: [], user: "deploy", preflight: "ok" },
  { name: "kill_user_processes", login: ["KillUserProcesses=yes"], user: "deploy", preflight: "FAIL" },
  { name: "kill_user_processes_as_root", login: ["KillUserProcesses=yes"], user: "root", preflight: "ok" },
  { name: "kill_only_users", login: ["KillOnlyUsers=deploy"], user: "deploy", preflight: "FAIL" },
  // logind masked (stopped for good; loginctl cannot start it): its settings no longer apply.
  { name: "logind_masked", login: ["KillUserProcesses=yes"], mask: true, user: "deploy", preflight: "ok" },
];

function docker(args: string[], input?: string): string {
  return sh("docker", args, { input }).stdout;
}
const onHost = (script: string, input?: string) => docker(["exec", "-i", LOGIND_HOST, "bash", "-c", script], input);

export function removeLogindHost(): void {
  sh("docker", ["rm", "-f", "-v", LOGIND_HOST], { allowFail: true });
}

interface Host {
  ssh(user: string, ...cmd: string[]): string[];
}

async function startHost(dir: string): Promise<Host> {
  const image = buildStandIn(IMAGE);
  removeLogindHost();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, "ssh_host_ed25519_key");
  const clientKey = path.join(dir, "login_key");
  for (const f of [hostKey, clientKey]) freshKey(f, "freshtrack-e2e-logind");
  docker(["create", "--privileged", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--name", LOGIND_HOST, "--hostname", LOGIND_HOST, image]);
  for (const f of [hostKey, `${hostKey}.pub`]) docker(["cp", f, `${LOGIND_HOST}:/etc/ssh/`]);
  docker(["start", LOGIND_HOST]);
  for (let i = 0; ; i++) {
    const up = sh("docker", ["exec", LOGIND_HOST, "systemctl", "is-active", "ssh", "systemd-logind"], { allowFail: true });
    if (up.code === 0) break;
    if (i > 120) throw new Error(`logind host: sshd or logind not active after 60 s: ${up.stdout}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const pub = fs.readFileSync(`${clientKey}.pub`, "utf8");
  onHost(
    "chmod 0600 /etc/ssh/ssh_host_ed25519_key && tee /root/.ssh/authorized_keys >/home/deploy/.ssh/authorized_keys && chown deploy: /home/deploy/.ssh/authorized_keys",
    pub,
  );
  const ip = docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", LOGIND_HOST]).trim();
  const knownHosts = path.join(dir, "known_hosts");
  // Pinned as every vm host's key is: no trust on first use.
  fs.writeFileSync(knownHosts, `${ip} ${keyLine(`${hostKey}.pub`)}\n`);
  const sshArgs = [
    "-i",
    clientKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
  ];
  return { ssh: (user, ...cmd) => [...sshArgs, `${user}@${ip}`, ...cmd] };
}

/** The command as the program's steps run it: through `sudo -n` unless the SSH user is root. */
const asStep = (user: string, cmd: string) => (user === "root" ? cmd : `sudo -n ${cmd}`);

/** bin/preflight over SSH; its `session` line (ok or FAIL) and, on FAIL, the fix it prints. */
function preflight(h: Host, user: string): { verdict: string; line: string; fix?: string } {
  const r = sh("ssh", h.ssh(user, asStep(user, `${APP_DIR}/current/bin/preflight`)), { allowFail: true });
  const m = /^.*preflight: (ok|FAIL): .*logind.*$/m.exec(r.stderr);
  if (!m) throw new Error(`preflight printed no logind line (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  return { verdict: m[1], line: m[0], fix: / Fix: (.*)$/.exec(m[0])?.[1] };
}

/**
 * Starts the step over SSH, closes the connection (the client killed, as when the deploying
 * machine goes) once the step said its CUT_AFTER_MESSAGE-th message, and waits until it finished or is gone.
 * Returns how many of its seconds it ran, and whether its log on the host holds the last one.
 */
async function cutStep(h: Host, user: string): Promise<{ steps_done: number; of: number; log_has_last: boolean; cut_after_message: number }> {
  onHost(`rm -f ${APP_DIR}/state/cut-step.done ${APP_DIR}/state/logs/*-cut-step-*.log`);
  const client: ChildProcess = spawn("ssh", h.ssh(user, asStep(user, `${STEP} ${STEP_SECONDS}`)), { stdio: ["ignore", "pipe", "pipe"] });
  let said = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the step said nothing within 30 s: ${said}`)), 30000);
    client.stderr!.on("data", (d: Buffer) => {
      said += d.toString();
      if (said.includes(`step ${CUT_AFTER_MESSAGE} of`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    client.once("exit", (code) => reject(new Error(`ssh ended (${code}) before the cut: ${said}`)));
  });
  client.removeAllListeners("exit");
  client.kill("SIGKILL");
  for (let i = 0; i < (STEP_SECONDS + 15) * 2; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if (sh("docker", ["exec", LOGIND_HOST, "pgrep", "-f", STEP], { allowFail: true }).code !== 0) break;
  }
  const done = Number(onHost(`cat ${APP_DIR}/state/cut-step.done 2>/dev/null || echo 0`).trim());
  const log = onHost(`cat ${APP_DIR}/state/logs/*-cut-step-*.log 2>/dev/null || true`);
  return { steps_done: done, of: STEP_SECONDS, log_has_last: log.includes(`step ${STEP_SECONDS} of ${STEP_SECONDS}`), cut_after_message: CUT_AFTER_MESSAGE };
}

/** What logind did and holds, for a failed check's message: its journal's last lines, its users and sessions. */
function logindState(): string {
  return onHost(
    "journalctl -u systemd-logind --no-pager -n 40 -o short-precise 2>&1; echo '-- users:'; loginctl list-users --no-legend 2>&1; " +
      "echo '-- sessions:'; loginctl list-sessions --no-legend 2>&1; systemctl list-units --no-legend 'user*' 'session-*' 2>&1 || true",
  );
}

/**
 * logind's drop-in as the case sets it (written on the host's console, not over SSH), then
 * logind restarted, or masked and stopped.
 */
function setLogind(lines: string[], mask = false): void {
  onHost(
    `systemctl unmask systemd-logind >/dev/null 2>&1; rm -f /etc/systemd/logind.conf.d/*.conf && mkdir -p /etc/systemd/logind.conf.d && ` +
      (lines.length ? `printf '[Login]\\n%s\\n' ${lines.map((l) => `'${l}'`).join(" ")} >/etc/systemd/logind.conf.d/e2e.conf && ` : "") +
      (mask
        ? `systemctl mask --now systemd-logind && ! systemctl is-active systemd-logind`
        : `systemctl restart systemd-logind && systemctl is-active systemd-logind`),
  );
}

export async function logindSession(d: LogindDeps): Promise<void> {
  const t0 = Date.now();
  const h = await startHost(path.join(d.work, "logind-host"));
  try {
    // The release serving on the stack's host (the program pushed it), laid out as the push lays it out.
    const release = fs.realpathSync(path.join(d.appDir, "current"));
    onHost(`mkdir -p ${APP_DIR}/releases ${APP_DIR}/state`);
    docker(["cp", release, `${LOGIND_HOST}:${APP_DIR}/releases/`]);
    onHost(`ln -sfn releases/${path.basename(release)} ${APP_DIR}/current && chown -R root:root ${APP_DIR}`);
    onHost(`cat >${STEP} && chmod 0755 ${STEP}`, STEP_SCRIPT);
    const cases: Record<string, unknown> = {};
    // A cut step's check; its failure's message carries what logind did (read only then).
    const checkCut = (ok: boolean, msg: () => string) => d.check(ok, ok ? "" : `${msg()}\n${logindState()}`);
    for (const c of CASES) {
      setLogind(c.login, c.mask);
      const pre = preflight(h, c.user);
      const cut = await cutStep(h, c.user);
      const survives = c.preflight === "ok";
      const fig: Record<string, unknown> = {
        user: c.user,
        logind: `${c.login.join(" ") || "(Debian's defaults)"}${c.mask ? ", masked" : ""}`,
        preflight: pre.verdict,
        ...cut,
      };
      d.check(pre.verdict === c.preflight, `${c.name}: preflight said ${pre.verdict}, expected ${c.preflight}: ${pre.line}`);
      checkCut(
        survives ? cut.steps_done === STEP_SECONDS && cut.log_has_last : cut.steps_done < STEP_SECONDS,
        () =>
          `${c.name}: the cut step ran ${cut.steps_done} of ${STEP_SECONDS} s (log has the last: ${cut.log_has_last}); preflight said ${pre.verdict}: ${pre.line}`,
      );
      if (pre.verdict === "FAIL") {
        d.check(Boolean(pre.fix), `${c.name}: preflight failed without a fix: ${pre.line}`);
        // The fix exactly as printed, run by the operator over SSH.
        sh("ssh", h.ssh(c.user, asStep(c.user, `bash -c ${shellQuote(pre.fix!)}`)));
        const after = preflight(h, c.user);
        const cutAfter = await cutStep(h, c.user);
        fig.fix = pre.fix;
        fig.after_fix = { preflight: after.verdict, ...cutAfter };
        d.check(after.verdict === "ok", `${c.name}: after its fix preflight still says ${after.line}`);
        checkCut(
          cutAfter.steps_done === STEP_SECONDS && cutAfter.log_has_last,
          () => `${c.name}: after the fix a cut step ran ${cutAfter.steps_done} of ${STEP_SECONDS} s (log has the last: ${cutAfter.log_has_last})`,
        );
      }
      cases[c.name] = fig;
    }
    d.record({ logind: { seconds: Number(((Date.now() - t0) / 1000).toFixed(1)), cases } });
  } finally {
    if (!process.env.FT_E2E_KEEP) removeLogindHost();
  }
}
