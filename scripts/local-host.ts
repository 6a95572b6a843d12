// `npm run local-host [-- OPTIONS]`: starts a disposable host on this machine
// (scripts/lib/local-host.ts, the same host the end-to-end test deploys to) and
// writes Pulumi.local.yaml for it: address, port, the pinned host key, tlsMode
// internal. The deploy key is a secret: it never enters the stack file in plain
// text. With the Pulumi CLI on PATH it is set encrypted (`pulumi config set
// --secret`, the key on stdin); without it, the exact command is printed.
// `--down` stops the host and removes its directory (keys included).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Document, parse as parseYaml, parseDocument } from "yaml";
import { LocalHost, localHostStackConfig, runningLocalHost, startLocalHost, stopLocalHost } from "./lib/local-host";
import { ROOT } from "./lib/program";

export const STACK = "local";
export const LOCAL_DOMAIN = "freshtrack.localhost";

interface Args {
  down: boolean;
  dir: string;
  stackFile: string;
  appDir: string;
  images: Partial<Record<"backendImage" | "workerImage" | "frontendImage", string>>;
}

function usage(problem?: string): never {
  const text = `usage: npm run local-host [-- --down] [--dir DIR] [--stack-file FILE] [--app-dir DIR]
                          [--backend-image REF --worker-image REF --frontend-image REF]
  Starts a disposable host on this machine (this machine's sshd on 127.0.0.1 in a private
  mount namespace, deploying to this machine's Docker engine; Linux, root) and writes
  Pulumi.local.yaml for it. Then: npm run deploy -- local   (or pulumi up -s local).
  --down            stop the host and delete its directory and keys
  --dir DIR         where the host keeps its keys and state (default .local-host/)
  --stack-file F    stack file to write (default Pulumi.local.yaml)
  --app-dir DIR     vmAppDir on the host (default /opt/freshtrack-local)
  --*-image REF     app images (default: as in Pulumi.local.yaml, else Pulumi.vm.yaml)`;
  if (problem) {
    console.error(`local-host: ${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    down: false,
    dir: path.join(ROOT, ".local-host"),
    stackFile: path.join(ROOT, `Pulumi.${STACK}.yaml`),
    appDir: "/opt/freshtrack-local",
    images: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === "--down") a.down = true;
    else if (arg === "--dir") a.dir = path.resolve(next());
    else if (arg === "--stack-file") a.stackFile = path.resolve(next());
    else if (arg === "--app-dir") a.appDir = next();
    else if (arg === "--backend-image") a.images.backendImage = next();
    else if (arg === "--worker-image") a.images.workerImage = next();
    else if (arg === "--frontend-image") a.images.frontendImage = next();
    else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown argument ${arg}`);
  }
  return a;
}

const NS = "freshtrack";

/** The example customer's value of a key (Pulumi.vm.yaml): app images and project id to start from. */
function exampleValue(key: string): string | undefined {
  const doc = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.vm.yaml"), "utf8")) as { config?: Record<string, unknown> };
  const v = doc.config?.[`${NS}:${key}`];
  return typeof v === "string" ? v : undefined;
}

/**
 * Writes (or updates) the stack file through the YAML library: only the keys this host
 * decides are replaced; whatever the operator or the Pulumi CLI added (images, registry
 * login, `encryptionsalt`, `secure:` values) stays as it is.
 */
export function writeStackFile(file: string, host: Pick<LocalHost, "host" | "port" | "hostKeyLine">, args: Pick<Args, "appDir" | "images">): void {
  const doc = fs.existsSync(file) ? parseDocument(fs.readFileSync(file, "utf8")) : new Document({ config: {} });
  if (!fs.existsSync(file)) {
    doc.commentBefore = [
      " The `local` stack: the vm target on a disposable host on this machine.",
      " Written by `npm run local-host` (host, port and pinned host key are rewritten",
      " at every start); the deploy key is a secret and never stored here in clear.",
    ].join("\n");
  }
  const set = (key: string, value: string, onlyIfMissing = false) => {
    if (onlyIfMissing && doc.hasIn(["config", `${NS}:${key}`])) return;
    doc.setIn(["config", `${NS}:${key}`], value);
  };
  for (const [k, v] of Object.entries(localHostStackConfig(host))) set(k, v);
  set("vmAppDir", args.appDir);
  // Disposable: `pulumi destroy -s local` removes its data too.
  set("vmPurgeOnDelete", "true");
  set("domain", LOCAL_DOMAIN, true);
  set("operatorEmail", `ops@${LOCAL_DOMAIN}`, true);
  for (const k of ["backendImage", "workerImage", "frontendImage"] as const) {
    const given = args.images[k];
    if (given) set(k, given);
    else {
      const example = exampleValue(k);
      if (example) set(k, example, true);
    }
  }
  const projectId = exampleValue("stackAuthProjectId");
  if (projectId) set("stackAuthProjectId", projectId, true);
  const text = doc.toString({ lineWidth: 0 });
  // The file is meant to be safe to show: refuse to write key material into it, whatever happened above.
  if (/PRIVATE KEY/.test(text)) throw new Error("local-host: refusing to write a private key into the stack file");
  fs.writeFileSync(file, text, { mode: 0o644 });
}

/** Sets the deploy key as an encrypted stack secret with the Pulumi CLI (key on stdin), or says how to. */
function storeDeployKey(keyFile: string, stackFile: string): boolean {
  const setCmd = `pulumi config set --secret vmSshPrivateKey --stack ${STACK} < ${keyFile}`;
  const cli = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  if (cli.error || cli.status !== 0) {
    console.log(`\nThe Pulumi CLI is not on PATH: set the deploy key yourself (it is encrypted into ${path.basename(stackFile)}):\n  ${setCmd}`);
    return false;
  }
  const cwd = path.dirname(stackFile);
  const env = { ...process.env, PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${path.join(cwd, ".state")}` };
  fs.mkdirSync(path.join(cwd, ".state"), { recursive: true });
  const select = spawnSync("pulumi", ["stack", "select", STACK, "--create"], { cwd, env, stdio: "inherit" });
  const put =
    select.status === 0
      ? spawnSync("pulumi", ["config", "set", "--secret", "vmSshPrivateKey", "--stack", STACK], {
          cwd,
          env,
          input: fs.readFileSync(keyFile),
          stdio: ["pipe", "inherit", "inherit"],
        })
      : select;
  if (put.status !== 0) {
    console.error(`local-host: could not set the deploy key with the Pulumi CLI; run:\n  ${setCmd}`);
    return false;
  }
  console.log("deploy key set as an encrypted secret of stack local (vmSshPrivateKey)");
  return true;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.down) {
    const was = await stopLocalHost(args.dir);
    fs.rmSync(args.dir, { recursive: true, force: true });
    console.log(was ? `local host stopped; ${args.dir} removed` : `no local host was running; ${args.dir} removed`);
    console.log(`What was deployed onto it stays until \`pulumi destroy -s ${STACK}\` (run it before --down, while the host is up).`);
    return;
  }
  if (process.getuid?.() !== 0) usage("must run as root: the host's sshd logs in as root and drives this machine's Docker engine");
  let host: Pick<LocalHost, "host" | "port" | "hostKeyLine" | "privateKeyFile">;
  const running = runningLocalHost(args.dir);
  if (running) {
    host = { ...running, privateKeyFile: path.join(args.dir, "root_login_key") };
    console.log(`local host already running on ${running.host}:${running.port} (pid ${running.pid})`);
  } else {
    // A restarted host keeps its keys, so the stack's pinned key and deploy key stay valid.
    const h = await startLocalHost(args.dir, { detached: true, reuseKeys: true });
    host = h;
    console.log(`local host started on ${h.host}:${h.port} (sshd pid ${h.pid}); keys in ${args.dir}`);
  }
  writeStackFile(args.stackFile, host, args);
  console.log(`wrote ${args.stackFile}: vmHost ${host.host}, vmPort ${host.port}, vmHostKey ${host.hostKeyLine.slice(0, 30)}..., tlsMode internal`);
  storeDeployKey(host.privateKeyFile, args.stackFile);
  console.log(`
Next:   PULUMI_CONFIG_PASSPHRASE=... npm run deploy -- ${STACK}
Open:   https://${LOCAL_DOMAIN}  (browsers resolve *.localhost to this machine; the certificate
        comes from Caddy's internal CA: accept it, or trust the CA as docs/getting-started.md shows)
Remove: pulumi destroy -s ${STACK} && npm run local-host -- --down`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`local-host: ${e.message}`);
    process.exit(1);
  });
}
