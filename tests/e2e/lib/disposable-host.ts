// Disposable customer hosts for the move scenarios: one container per host, from a
// debootstrap-built image (images/host: Debian 12, sshd, Docker + Compose v2, the tools
// bootstrap.sh would install), run --privileged with its OWN dockerd whose /var/lib/docker
// is a directory of this machine's disk (overlay2 cannot sit on the container's overlay).
// The hosts share one user-defined bridge, so each reaches the other by its address, and
// this machine reaches both. Each gets a fresh ED25519 host key and root login key, pinned
// exactly as for any vm host. Nothing here touches this machine's `freshtrack` project.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { LocalHost } from "../../../scripts/lib/local-host";
import { buildStandIn, CACHE_DIR } from "./build";
import { sh, shAsync } from "./docker";
import { RUNNER_HOSTS } from "./remote";
import { StandIn } from "../stand-ins";

export const HOSTS_NETWORK = "freshtrack-e2e-hosts";
/** Host engines' data roots: on this machine's ext4, one directory per host. */
const DATA_ROOT = path.join(CACHE_DIR, "hosts");

const HOST_IMAGE: StandIn = { key: "host" as StandIn["key"], dir: "images/host", replaces: "a customer's Debian 12 VM" };

/** A host as the local stack's (same keys and files); its address is on HOSTS_NETWORK. */
export interface DisposableHost extends LocalHost {
  /** Container name (also its hostname). */
  name: string;
  /**
   * Its DNS name: the other hosts resolve it (HOSTS_NETWORK's Docker DNS, which the containers
   * of their own engines reach through them), and the harness dials it at `host` (RUNNER_HOSTS).
   */
  dnsName: string;
}

/** Where the disposable hosts' DNS names live (a reserved TLD: never a real name). */
const DNS_SUFFIX = ".hosts.e2e.test";

/** The host image, built once per content hash (a second run reuses it). */
export function hostImage(): string {
  return buildStandIn(HOST_IMAGE);
}

/** "TYPE BASE64" of a public key file, without its comment: the form a pinned host key takes. */
export function keyLine(pubFile: string): string {
  return fs.readFileSync(pubFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

/** A fresh ED25519 key pair at `file` and `file.pub` (any earlier one removed first). */
export function freshKey(file: string, comment: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { stdio: "ignore" });
}

/** Polls until the host's engine answers (and, unless `engineOnly`, its sshd listens). */
async function untilUp(name: string, engineOnly = false): Promise<void> {
  const probe = engineOnly ? "docker info >/dev/null 2>&1" : "docker info >/dev/null 2>&1 && ss -Hltn 'sport = :22' | grep -q .";
  for (let i = 0; ; i++) {
    if (sh("docker", ["exec", name, "sh", "-c", probe], { allowFail: true }).code === 0) return;
    if (i > 60) throw new Error(`host ${name}: engine or sshd not up after 30 s: ${sh("docker", ["logs", name], { allowFail: true }).stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The container that loads a seed (only while it does). */
const SEED_HOST = "freshtrack-e2e-seed";
/** Data roots already seeded in this run, by host image and image list. */
const seeds = new Map<string, string>();

/**
 * A host engine's data root that holds `images`, made once per run: an engine of the host image
 * loads them from one `docker save` stream, then stops cleanly. Each host started with it
 * (startDisposableHost's `seed`) begins with those images, as if it had loaded them itself.
 */
export async function imageSeed(image: string, images: string[]): Promise<string> {
  const key = [image, ...[...images].sort()].join(" ");
  const known = seeds.get(key);
  if (known && fs.existsSync(path.join(known, "overlay2"))) return known;
  const name = SEED_HOST;
  const data = path.join(DATA_ROOT, `seed-${seeds.size}`);
  sh("docker", ["rm", "-f", name], { allowFail: true });
  fs.rmSync(data, { recursive: true, force: true });
  fs.mkdirSync(data, { recursive: true });
  sh("docker", ["run", "-d", "--privileged", "--name", name, "-v", `${data}:/var/lib/docker`, image]);
  try {
    await untilUp(name, true);
    await loadImages([{ name }], images);
    // dockerd ends cleanly (its databases closed) before its files are copied.
    sh("docker", ["exec", name, "sh", "-c", "pkill -TERM -x dockerd; while pgrep -x dockerd >/dev/null; do sleep 0.2; done"]);
  } finally {
    sh("docker", ["rm", "-f", name], { allowFail: true });
  }
  seeds.set(key, data);
  return data;
}

/**
 * Fills a new host's data root from a seed: the image layers (overlay2/, the bulk) hard-linked,
 * since overlay2 only ever reads an image's layers (a container writes to a directory of its
 * own); everything else copied, since Docker writes some of it in place (its bolt databases).
 */
function fromSeed(seed: string, data: string): void {
  for (const entry of fs.readdirSync(seed)) sh("cp", [entry === "overlay2" ? "-al" : "-a", path.join(seed, entry), data]);
}

/** Removes the run's seeds (after every host is stopped), and a seed's host left by a signal. */
export function removeImageSeeds(): void {
  sh("docker", ["rm", "-f", SEED_HOST], { allowFail: true });
  for (const data of seeds.values()) fs.rmSync(data, { recursive: true, force: true });
  seeds.clear();
}

/**
 * Starts a host container with fresh keys; resolves once its sshd answers and its engine runs.
 * With `seed` (imageSeed) its engine starts with the seed's images.
 */
export async function startDisposableHost(name: string, dir: string, image: string, seed?: string): Promise<DisposableHost> {
  if (sh("docker", ["network", "inspect", HOSTS_NETWORK], { allowFail: true }).code !== 0) sh("docker", ["network", "create", HOSTS_NETWORK]);
  sh("docker", ["rm", "-f", name], { allowFail: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const overlay = path.join(dir, "overlay");
  fs.mkdirSync(path.join(overlay, "etc", "ssh"), { recursive: true });
  fs.mkdirSync(path.join(overlay, "root", ".ssh"), { recursive: true, mode: 0o700 });
  const hostKey = path.join(overlay, "etc", "ssh", "ssh_host_ed25519_key");
  const clientKey = path.join(dir, "root_login_key");
  for (const f of [hostKey, clientKey]) freshKey(f, `freshtrack-e2e-${name}`);
  fs.writeFileSync(path.join(overlay, "root", ".ssh", "authorized_keys"), fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const data = path.join(DATA_ROOT, name);
  fs.rmSync(data, { recursive: true, force: true });
  fs.mkdirSync(data, { recursive: true });
  if (seed) fromSeed(seed, data);
  const dnsName = `${name}${DNS_SUFFIX}`;
  sh("docker", [
    "create",
    "--privileged",
    "--name",
    name,
    "--hostname",
    name,
    "--network",
    HOSTS_NETWORK,
    "--network-alias",
    dnsName,
    "-v",
    `${data}:/var/lib/docker`,
    image,
  ]);
  sh("docker", ["cp", `${overlay}/.`, `${name}:/`]);
  sh("docker", ["start", name]);
  const host = sh("docker", ["inspect", "-f", `{{(index .NetworkSettings.Networks "${HOSTS_NETWORK}").IPAddress}}`, name]).stdout.trim();
  await untilUp(name);
  RUNNER_HOSTS.set(dnsName, host);
  return {
    name,
    dnsName,
    host,
    port: 22,
    hostKeyLine: keyLine(`${hostKey}.pub`),
    privateKey: fs.readFileSync(clientKey, "utf8"),
    privateKeyFile: clientKey,
    dir,
    pid: 0,
    async stop() {
      sh("docker", ["rm", "-f", name], { allowFail: true });
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * Loads images into every host's engine from ONE `docker save` stream (no registry here): those
 * that any of them lacks (none, for hosts started from a seed holding them); then checks that
 * every host has every image.
 */
export async function loadImages(hosts: Pick<DisposableHost, "name">[], images: string[]): Promise<void> {
  const has = (h: Pick<DisposableHost, "name">) =>
    sh("docker", ["exec", h.name, "docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split("\n");
  const before = hosts.map(has);
  const lacking = images.filter((i) => before.some((listed) => !listed.includes(i)));
  // Every host listed every image: nothing to load, and that listing was the check.
  if (!lacking.length) return;
  await loadAll(hosts, lacking);
  for (const h of hosts) {
    const listed = has(h);
    const missing = images.filter((i) => !listed.includes(i));
    if (missing.length) throw new Error(`host ${h.name} lacks ${missing.join(", ")} after the load`);
  }
}

async function loadAll(hosts: Pick<DisposableHost, "name">[], images: string[]): Promise<void> {
  const loads = hosts.map((h) => `docker exec -i ${h.name} docker load -q`);
  const script = `set -o pipefail; docker save "$@" | tee ${loads
    .slice(1)
    .map((l) => `>(${l} >/dev/null)`)
    .join(" ")} | ${loads[0]} >/dev/null; wait`;
  await new Promise<void>((resolve, reject) => {
    const p = spawn("bash", ["-c", script, "load", ...images], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`loading images into ${hosts.map((h) => h.name).join(", ")}: ${err}`))));
  });
}

/** A command on the host itself (as its console would run it), not over SSH. */
export function onHost(h: Pick<DisposableHost, "name">, script: string, opts: { allowFail?: boolean; input?: string } = {}) {
  return sh("docker", ["exec", "-i", h.name, "bash", "-c", script], opts);
}

/** onHost without blocking the event loop (a load generator runs meanwhile); never throws. */
export function onHostAsync(h: Pick<DisposableHost, "name">, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return shAsync("docker", ["exec", h.name, "bash", "-c", script]);
}

/** Removes the hosts' network (after every host is stopped). */
/** HOSTS_NETWORK's IPv4 range: where every disposable host's connections come from. */
export function hostsSubnet(): string {
  return sh("docker", ["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", HOSTS_NETWORK]).stdout.trim();
}

export function removeHostsNetwork(): void {
  sh("docker", ["network", "rm", HOSTS_NETWORK], { allowFail: true });
}
