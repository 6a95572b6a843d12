// The rendered caddy.json with tlsMode acme (the default on vm and digitalocean) obtaining its
// certificates from a real ACME server: Pebble, Let's Encrypt's test CA, which validates each
// name by connecting to Caddy's own ports (HTTP-01 on the HTTP port, TLS-ALPN-01 on the HTTPS
// port) as Let's Encrypt does, every name resolved to 127.0.0.1 by Pebble's DNS stand-in.
// Adapted for the test only: the listeners and storage (tests/fixtures/caddy-run.ts), and the
// issuer's directory, which the bundle leaves to Caddy's default (Let's Encrypt), pointed at
// Pebble and told to trust the test CA of Pebble's own HTTPS listener.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { caddyConfig } from "../../compose/render/caddy";
import { caddyBundleInput, CaddyPorts, localListeners, startCaddy, stopCaddy } from "../fixtures/caddy-run";
import { freePort } from "../fixtures/free-port";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";

const DOMAIN = "app.cold-chain.example";
const S3_HOST = `s3.${DOMAIN}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Issuer = Record<string, unknown>;
type RenderedTls = { apps: { tls: { automation: { policies: { subjects: string[]; issuers: Issuer[] }[] } } } };

function run(dir: string, name: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const log = fs.openSync(path.join(dir, `${name}.log`), "a");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", log, log], env: { ...process.env, ...env } });
  fs.closeSync(log);
  return child;
}

function kill(child: ChildProcess | undefined): void {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
}

function getText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
      })
      .on("error", reject);
  });
}

/** The certificate Caddy presents for `name`, and whether it verifies against `roots` for that name. */
function served(port: number, name: string, roots: string): Promise<{ authorized: boolean; error?: string; cert: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: name, ca: roots, rejectUnauthorized: false, timeout: 5000 }, () => {
      const cert = socket.getPeerCertificate(true);
      resolve({ authorized: socket.authorized, error: socket.authorizationError?.message, cert });
      socket.end();
    });
    socket.on("error", reject);
    socket.on("timeout", () => socket.destroy(new Error("timeout")));
  });
}

describe("rendered caddy.json with tlsMode acme, against a real ACME server (Pebble)", function () {
  this.timeout(240000);
  let dir: string;
  let ports: CaddyPorts;
  let pebble: ChildProcess | undefined;
  let dns: ChildProcess | undefined;
  let caddy: ChildProcess | undefined;
  let roots = "";
  let config: RenderedTls;
  const log = (name: string) => fs.readFileSync(path.join(dir, `${name}.log`), "utf8");

  /** Waits until Caddy serves a certificate for `name` that verifies against Pebble's root. */
  async function issued(name: string, seconds: number): Promise<tls.PeerCertificate> {
    let last = "";
    for (let i = 0; i < seconds * 2; i++) {
      if (caddy?.exitCode !== null) throw new Error(`caddy exited: ${log("caddy").slice(-2000)}`);
      try {
        const s = await served(ports.https, name, roots);
        if (s.authorized) return s.cert;
        last = s.error ?? "not authorized";
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(500);
    }
    throw new Error(
      `no certificate from Pebble for ${name} within ${seconds} s (${last}); caddy: ${log("caddy").slice(-3000)}\npebble: ${log("pebble").slice(-2000)}`,
    );
  }

  before(async () => {
    for (const tool of ["pebble", "pebble-challtestsrv", "caddy"])
      assert.ok(
        (process.env.PATH ?? "").split(":").some((d) => fs.existsSync(path.join(d, tool))),
        `${tool} is not installed: run sudo bash .ci/install-tools.sh`,
      );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-caddy-acme-"));
    ports = { http: await freePort(), https: await freePort(), health: await freePort() };
    const [acmePort, pebbleAdmin, dnsPort, dnsAdmin] = [await freePort(), await freePort(), await freePort(), await freePort()];

    // Pebble's own HTTPS listener (the ACME directory) uses a certificate of the test's CA.
    const ca = makeTestCa(path.join(dir, "ca"), "freshtrack test: Pebble's listener");
    const listener = issueServerCert(ca, path.join(dir, "ca"), ["localhost"], "pebble");
    fs.writeFileSync(
      path.join(dir, "pebble.json"),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${pebbleAdmin}`,
          certificate: listener.cert,
          privateKey: listener.key,
          // Where its validation authority connects: Caddy's ports, as Let's Encrypt connects to 80 and 443.
          httpPort: ports.http,
          tlsPort: ports.https,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    // Every A query answered 127.0.0.1, no AAAA; its own challenge servers off (Caddy answers them).
    dns = run(dir, "dns", "pebble-challtestsrv", [
      "-defaultIPv4=127.0.0.1",
      "-defaultIPv6=",
      `-dns01=127.0.0.1:${dnsPort}`,
      "-http01=",
      "-https01=",
      "-tlsalpn01=",
      `-management=127.0.0.1:${dnsAdmin}`,
    ]);
    // No random delay before a validation and no refused nonces: a test of our config, not of Caddy's retries.
    pebble = run(dir, "pebble", "pebble", ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: "0",
    });
    const caPem = fs.readFileSync(ca.cert, "utf8");
    for (let i = 0; i < 60 && !roots; i++) {
      if (pebble.exitCode !== null) throw new Error(`pebble exited: ${log("pebble")}`);
      roots = await getText(`https://localhost:${pebbleAdmin}/roots/0`, caPem).catch(() => "");
      if (!roots) await sleep(250);
    }
    assert.match(roots, /BEGIN CERTIFICATE/, `Pebble did not start: ${log("pebble")}`);

    config = caddyConfig(caddyBundleInput(DOMAIN, "acme")) as unknown as RenderedTls;
    const [policy] = config.apps.tls.automation.policies;
    // What ships: both names in one policy, the acme issuer with the operator's address and no
    // directory of its own (Caddy's default: Let's Encrypt's production directory).
    assert.deepEqual(policy.subjects, [DOMAIN, S3_HOST]);
    assert.deepEqual(policy.issuers, [{ module: "acme", email: "ops@cold-chain.example" }]);
    policy.issuers = [{ ...policy.issuers[0], ca: `https://localhost:${acmePort}/dir`, trusted_roots_pem_files: [ca.cert] }];
    localListeners(config, dir, ports);
    caddy = startCaddy(dir, config);
  });

  after(async () => {
    await stopCaddy(caddy);
    kill(pebble);
    kill(dns);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let first: tls.PeerCertificate;
  it("obtains a certificate for the app's domain, validated on Caddy's own ports, and serves it", async () => {
    first = await issued(DOMAIN, 120);
    assert.match(first.subjectaltname ?? "", new RegExp(`DNS:${DOMAIN.replace(/\./g, "\\.")}(,|$)`));
    assert.match(String(first.issuer.CN), /Pebble Intermediate/);
    // Pebble validated each name by connecting to Caddy's ports (HTTP-01 on the HTTP port or
    // TLS-ALPN-01 on the HTTPS port, Caddy's choice; nothing is taken as valid without it).
    const valid = log("pebble").match(/set VALID by completed challenge/g) ?? [];
    assert.ok(valid.length >= 1, `no challenge completed: ${log("pebble").slice(-2000)}`);
  });

  it("obtains one for s3.<domain> (the assets bucket's public name) too", async () => {
    const cert = await issued(S3_HOST, 120);
    assert.match(cert.subjectaltname ?? "", new RegExp(`DNS:${S3_HOST.replace(/\./g, "\\.")}(,|$)`));
  });

  it("redirects plain HTTP to HTTPS beside the ACME challenges on the same port", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: "127.0.0.1", port: ports.http, path: "/api/health", headers: { host: DOMAIN } }, resolve).on("error", reject),
    );
    res.resume();
    assert.equal(res.statusCode, 308);
    // Caddy leaves out the port of its HTTPS listener (443 in production): the same URL on 443.
    assert.equal(res.headers.location, `https://${DOMAIN}/api/health`);
  });

  it("a restarted Caddy serves the stored certificate instead of ordering a new one (Let's Encrypt's weekly limit)", async () => {
    await stopCaddy(caddy);
    const obtained = (log("caddy").match(/certificate obtained successfully/g) ?? []).length;
    assert.equal(obtained, 2, `expected one order per name before the restart: ${log("caddy").slice(-2000)}`);
    caddy = startCaddy(dir, config);
    const again = await issued(DOMAIN, 30);
    assert.equal(again.serialNumber, first.serialNumber);
    assert.equal((log("caddy").match(/certificate obtained successfully/g) ?? []).length, obtained, "the restart ordered a certificate");
  });
});
