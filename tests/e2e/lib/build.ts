// Builds the stand-in images: a debootstrap'd Debian base (imported, no registry), then
// one image per stand-in, tagged freshtrack-e2e/<key>:<content-hash>. A tag that exists is
// not rebuilt: the second run costs nothing.
import { createHash } from "crypto";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../../scripts/lib/program";
import { StandIn, contextDir } from "../stand-ins";

export const CACHE_DIR = process.env.FT_E2E_CACHE ?? "/var/cache/freshtrack-e2e";
export const BASE_IMAGE = "freshtrack-e2e/base:bookworm";
const NODE_BIN = process.execPath;
/** Shared by every image: busybox wget with Alpine's -T behaviour (images/common/wget). */
const COMMON_WGET = path.join(__dirname, "..", "images", "common", "wget");

function log(msg: string): void {
  console.log(`[images] ${msg}`);
}

export function imageExists(ref: string): boolean {
  return spawnSync("docker", ["image", "inspect", ref], { stdio: "ignore" }).status === 0;
}

function imageId(ref: string): string {
  return execFileSync("docker", ["image", "inspect", "-f", "{{.Id}}", ref], { encoding: "utf8" }).trim();
}

/** debootstrap --variant=minbase bookworm, imported as BASE_IMAGE (once per machine). */
export function ensureBaseImage(): void {
  if (imageExists(BASE_IMAGE)) return;
  const rootfs = path.join(CACHE_DIR, "rootfs-bookworm");
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  if (!fs.existsSync(path.join(rootfs, "etc/os-release"))) {
    log("debootstrap bookworm (minbase + busybox, ca-certificates)...");
    fs.rmSync(rootfs, { recursive: true, force: true });
    execFileSync("debootstrap", ["--variant=minbase", "--include=busybox,ca-certificates", "bookworm", rootfs, "http://deb.debian.org/debian"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    for (const f of fs.readdirSync(path.join(rootfs, "var/cache/apt/archives")))
      if (f.endsWith(".deb")) fs.rmSync(path.join(rootfs, "var/cache/apt/archives", f));
  }
  log(`docker import ${BASE_IMAGE}`);
  execFileSync("bash", ["-c", `tar -C "$1" -c . | docker import - "$2" >/dev/null`, "import", rootfs, BASE_IMAGE], { stdio: "inherit" });
}

/** npm packages and everything they depend on, as installed (hoisted) in the repo's node_modules. */
export function moduleClosure(names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const pj = path.join(ROOT, "node_modules", name, "package.json");
    if (!fs.existsSync(pj)) return; // optional dependency not installed
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(pj, "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const d of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(d);
  };
  names.forEach(visit);
  return [...seen].sort();
}

function hashDir(h: ReturnType<typeof createHash>, dir: string, rel = ""): void {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) hashDir(h, dir, r);
    else {
      const st = fs.statSync(path.join(dir, r));
      h.update(`${r}\0${st.mode & 0o111 ? "x" : "-"}\0`)
        .update(fs.readFileSync(path.join(dir, r)))
        .update("\0");
    }
  }
}

/** Content hash of everything that goes into a stand-in image. */
export function contentHash(s: StandIn, buildArgs: Record<string, string> = {}): string {
  const h = createHash("sha256");
  h.update(imageId(BASE_IMAGE));
  hashDir(h, contextDir(s));
  h.update(fs.readFileSync(COMMON_WGET));
  if (s.node) {
    const st = fs.statSync(NODE_BIN);
    h.update(`node ${process.version} ${st.size}`);
  }
  for (const m of moduleClosure(s.modules ?? [])) {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", m, "package.json"), "utf8")) as { version: string };
    h.update(`${m}@${pkg.version}\n`);
  }
  h.update(JSON.stringify(buildArgs));
  h.update(s.dockerfile ?? "Dockerfile");
  return h.digest("hex").slice(0, 12);
}

/** Builds (or reuses) one stand-in; returns its tag. */
export function buildStandIn(s: StandIn, buildArgs: Record<string, string> = {}, tagSuffix = ""): string {
  const tag = `freshtrack-e2e/${s.key}:${contentHash(s, buildArgs)}${tagSuffix}`;
  if (imageExists(tag)) {
    log(`${s.key}: cached ${tag}`);
    return tag;
  }
  const ctx = path.join(CACHE_DIR, "ctx", s.key);
  fs.rmSync(ctx, { recursive: true, force: true });
  fs.mkdirSync(ctx, { recursive: true });
  fs.cpSync(contextDir(s), ctx, { recursive: true });
  fs.copyFileSync(COMMON_WGET, path.join(ctx, "wget"));
  fs.chmodSync(path.join(ctx, "wget"), 0o755);
  if (s.node) fs.copyFileSync(NODE_BIN, path.join(ctx, "node"));
  fs.mkdirSync(path.join(ctx, "node_modules"), { recursive: true });
  for (const m of moduleClosure(s.modules ?? []))
    fs.cpSync(path.join(ROOT, "node_modules", m), path.join(ctx, "node_modules", m), { recursive: true, dereference: true });
  const t0 = Date.now();
  log(`${s.key}: building ${tag}...`);
  const args = [
    "build",
    "-q",
    "-t",
    tag,
    ...(s.dockerfile ? ["-f", path.join(ctx, s.dockerfile)] : []),
    ...Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    ctx,
  ];
  const r = spawnSync("docker", args, { encoding: "utf8", env: { ...process.env, DOCKER_BUILDKIT: "0" } });
  if (r.status !== 0) throw new Error(`docker build of ${s.key} failed:\n${r.stdout}\n${r.stderr}`);
  log(`${s.key}: built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return tag;
}
