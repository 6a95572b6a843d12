// DigitalOcean, stood in on this machine for the moves vm <-> digitalocean (scenarios 16, 18). Each
// stand-in is reached from the droplet's containers by the SAME name the real service has:
// a container on the hosts' network carries that name as a network alias, and the droplet's
// engine resolves it through the hosts' DNS as a droplet resolves public names (publicDns
// makes that hold for the default bridge's containers too).
//   - the managed PostgreSQL: the postgres stand-in image's server (see startManagedDb) in
//     that container, TLS only (pg_hba refuses any connection without it),
//     its certificate issued for the cluster's private host name by a CA of the test (what
//     getDatabaseCa returns), and an admin `doadmin` that has CREATEDB and CREATEROLE but
//     is NOT a superuser, with its own database `defaultdb`, as DigitalOcean creates it;
//   - Spaces: the SeaweedFS stand-in over HTTPS on port 443 as `<region>.digitaloceanspaces.com`
//     (a certificate of another test CA, trusted by the droplet's images as public roots are),
//     with the two keys the program creates, each limited to its grants;
//   - the droplet's first boot: what cloud-init does with the program's user_data (host key,
//     the deploy user, root's key, files, runcmd), then `cloud-init status` answers done.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CACHE_DIR } from "./build";
import { DisposableHost, HOSTS_NETWORK, onHost } from "./disposable-host";
import { sh } from "./docker";
import { issueServerCert, makeTestCa } from "../../fixtures/test-ca";

/** A CA of the test named `cn` and a server certificate for `names` signed by it, in `dir`. */
function issueCertificate(dir: string, cn: string, names: string[]): { ca: string; key: string; cert: string } {
  const ca = makeTestCa(dir, cn);
  const server = issueServerCert(ca, dir, names);
  return { ca: ca.cert, key: server.key, cert: server.cert };
}

/** A container of `image` that holds a network namespace on the hosts' network, under `alias`, with `mountDir` mounted. */
function namespaceHolder(name: string, alias: string, image: string, mountDir: string): void {
  sh("docker", ["rm", "-f", name], { allowFail: true });
  sh("docker", [
    "run",
    "-d",
    "--name",
    name,
    "--network",
    HOSTS_NETWORK,
    "--network-alias",
    alias,
    "-v",
    `${mountDir}:${mountDir}`,
    "--entrypoint",
    "sleep",
    image,
    "infinity",
  ]);
}

export interface ManagedDb {
  host: string;
  port: number;
  adminUser: string;
  /** PEM of the CA that issued the server's certificate (getDatabaseCa). */
  caPem: string;
  /** SQL as the superuser over the cluster's local socket (on this machine), tab-free rows. */
  query(sql: string, db?: string): string;
  stop(): void;
}

/** Stops the cluster (it runs in its namespace's container) and removes its files (safe when absent). */
export function stopManagedDb(name: string): void {
  sh("docker", ["rm", "-f", name], { allowFail: true });
  fs.rmSync(path.join(CACHE_DIR, name), { recursive: true, force: true });
}

/**
 * `image`: the server of that image runs it (the release's postgres stand-in, PostgreSQL 15.18),
 * not this machine's PostgreSQL 17: the droplet dumps it (its first backup at a cutover onto it,
 * scenario 16; the export of a move off it, 18) with the release's pg_dump, which refuses a newer
 * server (so the program refuses doDbVersion 17), and this machine's builds (15.20, 17.12) put a
 * column option `pg_attver` in every dump that the image's 15.18 cannot restore.
 */
export function startManagedDb(opts: { name: string; host: string; port: number; adminUser: string; adminPassword: string; image: string }): ManagedDb {
  const dir = path.join(CACHE_DIR, opts.name);
  const pg = path.join(dir, "pg");
  // A cluster left by an earlier run (FT_E2E_KEEP, an interrupted run) is stopped first.
  stopManagedDb(opts.name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  // The image's own binaries as its postgres user (uid 70), in the container holding the namespace.
  const bin = "/usr/lib/postgresql/15/bin";
  const asPg = (args: string[], input?: string) => sh("docker", ["exec", "-i", "-u", "postgres", opts.name, ...args], { input });
  const query = (sql: string, db = "postgres") =>
    asPg([`${bin}/psql`, "-h", pg, "-p", String(opts.port), "-U", "postgres", "-d", db, "-tA", "-v", "ON_ERROR_STOP=1", "-f", "-"], sql).stdout.trim();
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const tls = issueCertificate(path.join(dir, "tls"), "e2e managed database CA", [opts.host]);
  try {
    fs.mkdirSync(pg);
    fs.copyFileSync(tls.cert, path.join(pg, "server.crt"));
    fs.copyFileSync(tls.key, path.join(pg, "server.key"));
    fs.chmodSync(path.join(pg, "server.key"), 0o600);
    sh("chown", ["-R", "70:70", pg]);
    namespaceHolder(opts.name, opts.host, opts.image, pg);
    asPg([`${bin}/initdb`, "-D", `${pg}/data`, "-U", "postgres", "--auth-local=peer", "--auth-host=reject", "-E", "UTF8"]);
    // TLS or nothing from the network; the test's superuser only over the local socket.
    fs.writeFileSync(
      path.join(pg, "data", "pg_hba.conf"),
      ["local all postgres peer", "hostssl all all 0.0.0.0/0 scram-sha-256", "hostnossl all all 0.0.0.0/0 reject", ""].join("\n"),
    );
    const conf = `-p ${opts.port} -k ${pg} -c listen_addresses=0.0.0.0 -c fsync=off -c ssl=on -c ssl_cert_file=${pg}/server.crt -c ssl_key_file=${pg}/server.key -c max_connections=100`;
    const pgCtl = [`${bin}/pg_ctl`, "-D", `${pg}/data`, "-l", `${pg}/log`, "-w", "-o", conf, "start"];
    asPg(pgCtl);
    // DigitalOcean's admin and its database.
    query(`CREATE ROLE ${opts.adminUser} LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD ${lit(opts.adminPassword)}`);
    query(`CREATE DATABASE defaultdb OWNER ${opts.adminUser}`);
  } catch (e) {
    stopManagedDb(opts.name);
    throw e;
  }
  return {
    host: opts.host,
    port: opts.port,
    adminUser: opts.adminUser,
    caPem: fs.readFileSync(tls.ca, "utf8"),
    query,
    stop: () => stopManagedDb(opts.name),
  };
}

export interface Spaces {
  endpoint: string;
  /** The CA that signed its certificate (a public root for the droplet's images). */
  caPem: string;
  stop(): void;
}

export interface SpacesKey {
  accessKey: string;
  secretKey: string;
  /** SeaweedFS actions, e.g. Read:bucket (DigitalOcean grants: readwrite = Read, Write, List). */
  actions: string[];
}

export function startSpaces(opts: { name: string; region: string; image: string; rcloneImage: string; keys: SpacesKey[]; buckets: string[] }): Spaces {
  const dir = path.join(CACHE_DIR, opts.name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const host = `${opts.region}.digitaloceanspaces.com`;
  const tls = issueCertificate(path.join(dir, "tls"), "e2e public CA (Spaces)", [host, `*.${host}`]);
  fs.chmodSync(tls.key, 0o644);
  const operator = { accessKey: "E2ESPACESOPERATOR", secretKey: "E2ESECRETspacesoperator0001X" };
  const identities = [
    { name: "operator", credentials: [operator], actions: ["Admin"] },
    ...opts.keys.map((k, i) => ({ name: `key-${i}`, credentials: [{ accessKey: k.accessKey, secretKey: k.secretKey }], actions: k.actions })),
  ];
  fs.writeFileSync(path.join(dir, "s3.json"), JSON.stringify({ identities }), { mode: 0o644 });
  sh("docker", ["rm", "-f", "-v", opts.name], { allowFail: true });
  sh("docker", [
    "run",
    "-d",
    "--name",
    opts.name,
    "--network",
    HOSTS_NETWORK,
    "--network-alias",
    host,
    // Virtual-host style (rclone's for DigitalOcean): every bucket is a name of its own.
    ...opts.buckets.flatMap((b) => ["--network-alias", `${b}.${host}`]),
    "--sysctl",
    "net.ipv4.ip_unprivileged_port_start=0",
    "-v",
    `${dir}:/spaces:ro`,
    opts.image,
    "server",
    "-dir=/data",
    "-s3",
    "-s3.port=443",
    "-s3.config=/spaces/s3.json",
    "-s3.cert.file=/spaces/tls/server.pem",
    "-s3.key.file=/spaces/tls/server.key",
    `-s3.domainName=${host}`,
  ]);
  const stop = () => {
    sh("docker", ["rm", "-f", "-v", opts.name], { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // The operator creates the buckets (the program's SpacesBucket resources), verifying TLS by name.
  fs.writeFileSync(
    path.join(dir, "operator.conf"),
    `[op]\ntype = s3\nprovider = DigitalOcean\naccess_key_id = ${operator.accessKey}\nsecret_access_key = ${operator.secretKey}\nendpoint = https://${host}\nforce_path_style = true\n`,
    { mode: 0o644 },
  );
  const rclone = (args: string[]) =>
    sh(
      "docker",
      [
        "run",
        "--rm",
        "--network",
        HOSTS_NETWORK,
        "-v",
        `${dir}:/spaces:ro`,
        opts.rcloneImage,
        "--config",
        "/spaces/operator.conf",
        "--ca-cert",
        "/spaces/tls/ca.pem",
        ...args,
      ],
      {
        allowFail: true,
        timeoutMs: 60000,
      },
    );
  try {
    for (const bucket of opts.buckets) {
      for (let i = 0; ; i++) {
        const r = rclone(["--retries", "1", "--low-level-retries", "1", "mkdir", `op:${bucket}`]);
        if (r.code === 0) break;
        if (i > 40) throw new Error(`the Spaces stand-in did not come up: ${r.stderr.slice(-1000)}`);
        execFileSync("sleep", ["0.5"]);
      }
    }
  } catch (e) {
    stop();
    throw e;
  }
  return { endpoint: `https://${host}`, caPem: fs.readFileSync(tls.ca, "utf8"), stop };
}

/**
 * Adds a CA to an image's trust store inside a host's engine, under the same tag (as the
 * real images trust the public CAs that sign Spaces' certificate). Go (rclone) reads every
 * file in /etc/ssl/certs.
 */
export function trustCaInImage(h: DisposableHost, image: string, caPem: string): void {
  const c = `e2e-trust-${Date.now()}`;
  onHost(
    h,
    `docker create --name ${c} ${image} >/dev/null && base64 -d > /tmp/${c}.pem && docker cp /tmp/${c}.pem ${c}:/etc/ssl/certs/freshtrack-e2e-public-ca.pem && docker commit ${c} ${image} >/dev/null; rc=$?; docker rm -f ${c} >/dev/null; rm -f /tmp/${c}.pem; exit $rc`,
    {
      input: Buffer.from(caPem).toString("base64"),
    },
  );
}

/** A UDP DNS forwarder in Perl (perl-base is on every Debian host): LISTEN:53 -> UPSTREAM:53. */
const DNS_FORWARDER = String.raw`use strict; use IO::Socket::INET; use IO::Select;
my ($listen, $upstream) = @ARGV;
my $srv = IO::Socket::INET->new(LocalAddr => $listen, LocalPort => 53, Proto => "udp") or die "bind $listen:53: $!";
my $sel = IO::Select->new($srv); my %pending;
while (1) {
  for my $s ($sel->can_read(1)) {
    if ($s == $srv) {
      my $from = $srv->recv(my $q, 65535) or next;
      my $up = IO::Socket::INET->new(PeerAddr => $upstream, PeerPort => 53, Proto => "udp") or next;
      $up->send($q); $pending{"$up"} = [$up, $from, time]; $sel->add($up);
    } else {
      $s->recv(my $a, 65535); my $p = delete $pending{"$s"}; $sel->remove($s); close $s;
      $srv->send($a, 0, $p->[1]) if $p;
    }
  }
  for my $k (keys %pending) { my $p = $pending{$k}; if (time - $p->[2] > 10) { $sel->remove($p->[0]); close $p->[0]; delete $pending{$k}; } }
}
`;

/**
 * The droplet's resolver: public names (here the stand-ins' network aliases, which only the
 * hosts' Docker DNS at 127.0.0.11 knows) resolve from the host and from every container, also
 * those on the default bridge (bin/preflight's database check before the first deploy), which
 * cannot reach a loopback resolver. A forwarder on the host's own address takes its place.
 */
export function publicDns(h: DisposableHost): void {
  const script = "/usr/local/sbin/e2e-dns-forwarder.pl";
  onHost(h, `base64 -d > ${script}`, { input: Buffer.from(DNS_FORWARDER).toString("base64") });
  onHost(
    h,
    `setsid perl ${script} ${h.host} 127.0.0.11 </dev/null >/var/log/e2e-dns.log 2>&1 & pid=$!; sleep 0.5; ` +
      `kill -0 "$pid" 2>/dev/null || { cat /var/log/e2e-dns.log >&2; exit 1; }; ` +
      `printf 'nameserver %s\\noptions ndots:0\\n' ${h.host} > /etc/resolv.conf`,
  );
}

interface CloudConfig {
  ssh_keys?: { ed25519_private: string; ed25519_public: string };
  users?: (string | { name: string; groups?: string[]; shell?: string; ssh_authorized_keys?: string[] })[];
  groups?: string[];
  write_files?: { path: string; permissions: string; content: string; owner?: string }[];
  runcmd?: string[][];
}

/**
 * The droplet's first boot on a disposable host: what cloud-init does with the program's
 * user_data, and DigitalOcean's part (the droplet's SSH keys into root's authorized_keys).
 * runcmd's sshd reload goes through `systemctl`, which the host image lacks: a shim sends
 * sshd SIGHUP, which is what the reload does. Then `cloud-init status --wait` answers done.
 */
export function bootDroplet(h: DisposableHost, userData: string, rootKeys: string[]): { runcmd: { cmd: string; code: number }[] } {
  if (!userData.startsWith("#cloud-config\n")) throw new Error("user_data is not a #cloud-config document");
  const doc = parse(userData) as CloudConfig;
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const run = (script: string, input?: string) => onHost(h, script, { input });
  // ssh_deletekeys + ssh_keys: the pinned ed25519 pair is the host's only key.
  const keys = doc.ssh_keys!;
  run(
    `rm -f /etc/ssh/ssh_host_*; base64 -d > /etc/ssh/ssh_host_ed25519_key; chmod 600 /etc/ssh/ssh_host_ed25519_key; printf '%s\\n' '${keys.ed25519_public}' > /etc/ssh/ssh_host_ed25519_key.pub`,
    b64(keys.ed25519_private),
  );
  run(
    `mkdir -p /root/.ssh && chmod 700 /root/.ssh && base64 -d >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`,
    b64(rootKeys.join("\n") + "\n"),
  );
  for (const g of doc.groups ?? []) run(`getent group ${g} >/dev/null || groupadd ${g}`);
  for (const u of doc.users ?? []) {
    if (typeof u === "string") continue;
    run(
      `id ${u.name} >/dev/null 2>&1 || useradd -m -s ${u.shell ?? "/bin/sh"} ${u.groups?.length ? `-G ${u.groups.join(",")}` : ""} ${u.name}; ` +
        `passwd -l ${u.name} >/dev/null; d=$(getent passwd ${u.name} | cut -d: -f6); mkdir -p "$d/.ssh"; base64 -d > "$d/.ssh/authorized_keys"; ` +
        `chmod 700 "$d/.ssh"; chmod 600 "$d/.ssh/authorized_keys"; chown -R ${u.name}: "$d/.ssh"`,
      b64((u.ssh_authorized_keys ?? []).join("\n") + "\n"),
    );
  }
  for (const f of doc.write_files ?? []) {
    run(
      `mkdir -p "$(dirname '${f.path}')" && base64 -d > '${f.path}' && chmod ${f.permissions} '${f.path}' && chown ${f.owner ?? "root:root"} '${f.path}'`,
      b64(f.content),
    );
  }
  run(
    `command -v systemctl >/dev/null || { printf '%s\\n' '#!/bin/sh' '# e2e droplet: no systemd here; a reload of sshd is its SIGHUP' 'case "$1 $2" in "reload ssh"|"reload sshd") exec pkill -HUP -o -x sshd ;; esac' 'exit 1' > /usr/local/bin/systemctl; chmod 755 /usr/local/bin/systemctl; }`,
  );
  const runcmd = (doc.runcmd ?? []).map((argv) => {
    const r = sh("docker", ["exec", h.name, ...argv], { allowFail: true, timeoutMs: 600000 });
    return { cmd: argv.slice(0, 2).join(" ").slice(0, 60), code: r.code };
  });
  // First boot finished: the push's wait step asks `cloud-init status --wait`.
  run(`printf '%s\\n' '#!/bin/sh' 'echo "status: done"' > /usr/local/bin/cloud-init && chmod 755 /usr/local/bin/cloud-init`);
  return { runcmd };
}
