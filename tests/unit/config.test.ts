// Pure tests of the config parser: every class of bad input is refused with a
// message that names the key and the fix.
import { strict as assert } from "assert";
import { ConfigError, FreshtrackConfig, isCidr, isCron, parseConfig, parseImageRef, systemDirectoryOf, worldOpenFamilies } from "../../core/config";
import { VM_RAW } from "../fixtures/config";

const base: Record<string, string> = { ...VM_RAW };
const secret = new Set(["vmSshPrivateKey"]);

function parse(over: Record<string, string | undefined>, secrets: Set<string> = secret): FreshtrackConfig {
  const raw: Record<string, string | undefined> = { ...base, ...over };
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  return parseConfig(raw, secrets);
}

function refuses(over: Record<string, string | undefined>, key: string, fix: RegExp, secrets: Set<string> = secret) {
  assert.throws(
    () => parse(over, secrets),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
      const p = e.problems.find((x) => x.key === key);
      assert.ok(p, `no problem reported for ${key}: ${e.message}`);
      assert.match(p.message, /Fix:/, `message for ${key} gives no fix: ${p.message}`);
      assert.match(p.message, fix);
      assert.match(e.message, new RegExp(`freshtrack:${key}:`));
      return true;
    },
  );
}

const doBase = { target: "digitalocean", vmHost: undefined, vmHostKey: undefined, vmSshPrivateKey: undefined, doSshCidrs: '["198.51.100.7/32"]' };
const doSecrets = new Set<string>();

describe("config: a valid stack", () => {
  it("parses the vm target into typed settings", () => {
    const c = parse({});
    assert.equal(c.target, "vm");
    assert.equal(c.vm?.host, "203.0.113.10");
    assert.equal(c.vm?.port, 22);
    assert.equal(c.app.tlsMode, "acme");
    assert.equal(c.app.emailFromAddress, "alerts@app.acme.example");
    assert.equal(c.data.backupRetentionDays, 30);
    assert.equal(c.digitalocean, undefined);
    assert.deepEqual(c.secretsSet, ["vmSshPrivateKey"]);
  });
  it("accepts any stack name: the target comes from config, not the stack", () => {
    const c = parse(doBase, doSecrets);
    assert.equal(c.target, "digitalocean");
    assert.equal(c.digitalocean?.dbMaxConnections, 25);
  });
  it("derives the pool size from the database's max_connections", () => {
    assert.equal(parse({}).data.poolSize, 20);
    assert.equal(parse(doBase, doSecrets).data.poolSize, 9); // 25 - 15 - 1
  });
  it("accepts digests and registries with ports", () => {
    assert.doesNotThrow(() => parse({ backendImage: `registry.local:5000/acme/backend@sha256:${"a".repeat(64)}` }));
    assert.doesNotThrow(() => parse({ imageOverrides: '["postgres=registry.local/postgres:16.10-alpine"]' }));
  });
});

describe("config: bad input stops the program with the key and the fix", () => {
  it("unknown target", () => refuses({ target: "gcp" }, "target", /vm \(or digitalocean, aws\)/));
  it("missing domain", () => refuses({ domain: undefined }, "domain", /is required/));
  it("malformed domain", () => refuses({ domain: "not a host" }, "domain", /fully qualified/));
  it("malformed email", () => refuses({ operatorEmail: "ops-at-acme" }, "operatorEmail", /not an email/));
  it("malformed CIDR", () => refuses({ ...doBase, doSshCidrs: '["10.0.0.0/33"]' }, "doSshCidrs", /not a CIDR/, doSecrets));
  it("SSH open to the world", () => refuses({ ...doBase, doSshCidrs: '["0.0.0.0/0"]' }, "doSshCidrs", /whole internet/, doSecrets));
  it("a managed PostgreSQL newer than the droplet's dump tools (16)", () =>
    refuses({ ...doBase, doDbVersion: "17" }, "doDbVersion", /pg_dump refuses a newer server.*doDbVersion 16/, doSecrets));
  it("malformed hostname", () => refuses({ vmHost: "bad host!" }, "vmHost", /neither an IP address nor a hostname/));
  it("malformed image reference", () => refuses({ backendImage: "Not An Image" }, "backendImage", /not an image reference/));
  it("image tagged latest", () => refuses({ workerImage: "ghcr.io/acme/worker:latest" }, "workerImage", /latest/));
  it("untagged image", () => refuses({ frontendImage: "ghcr.io/acme/frontend" }, "frontendImage", /no tag/));
  it("bad image override", () => refuses({ imageOverrides: '["postgres=postgres:latest"]' }, "imageOverrides", /latest/));
  it("droplet size the target does not offer", () => refuses({ ...doBase, doDropletSize: "s-64vcpu-1tb" }, "doDropletSize", /not one of/, doSecrets));
  it("database size the target does not offer", () => refuses({ ...doBase, doDbSize: "db-huge" }, "doDbSize", /not one of/, doSecrets));
  it("RDS class the target does not offer", () => refuses({ target: "aws", awsDbInstanceClass: "db.x1.huge" }, "awsDbInstanceClass", /not one of/));
  it("Fargate memory not offered with the CPU", () =>
    refuses({ target: "aws", awsBackendCpu: "256", awsBackendMemory: "4096" }, "awsBackendMemory", /not offered/));
  it("pool sizes that break pools x pool_size < max_connections - 15", () => {
    refuses({ poolSize: "85", dbMaxConnections: "100" }, "poolSize", /max_connections \(100/);
    refuses({ ...doBase, poolSize: "10" }, "poolSize", /doDbSize/, doSecrets);
  });
  it("a credential stored in plain text", () => refuses({ stripeSecretKey: "sk_live_x" }, "stripeSecretKey", /--secret/));
  it("a missing private key for the vm target", () => refuses({ vmSshPrivateKey: undefined }, "vmSshPrivateKey", /--secret vmSshPrivateKey/, new Set()));
  it("a host key that is not one ssh-keyscan line", () => refuses({ vmHostKey: "203.0.113.10 ssh-ed25519 AAAA" }, "vmHostKey", /ssh-keyscan/));
  it("a bad cron schedule", () => refuses({ backupSchedule: "every day" }, "backupSchedule", /cron/));
  it("a non-numeric integer", () => refuses({ vmPort: "ssh" }, "vmPort", /whole number/));
  it("reports every problem at once", () => {
    try {
      parse({ target: "gcp", domain: "x", operatorEmail: "y" });
      assert.fail("should throw");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems.map((p) => p.key).sort(), ["domain", "operatorEmail", "target"]);
    }
  });
});

describe("config: value checks", () => {
  it("image references", () => {
    assert.deepEqual(parseImageRef("caddy:2.10.2-alpine"), { registry: undefined, repository: "caddy", tag: "2.10.2-alpine", digest: undefined });
    assert.equal((parseImageRef("ghcr.io/a/b:1") as { registry: string }).registry, "ghcr.io");
    assert.equal((parseImageRef("edoburu/pgbouncer:v1") as { registry?: string }).registry, undefined);
    assert.equal(typeof parseImageRef("a/b"), "string");
  });
  it("CIDRs", () => {
    assert.ok(isCidr("198.51.100.0/24"));
    assert.ok(isCidr("2001:db8::/32"));
    assert.ok(!isCidr("198.51.100.0"));
    assert.ok(!isCidr("300.1.1.1/8"));
  });
  it("cron", () => {
    assert.ok(isCron("17 3 * * *"));
    assert.ok(isCron("*/15 0-6 1,15 * 1-5"));
    assert.ok(!isCron("61 3 * * *"));
    assert.ok(!isCron("17 3 * *"));
  });
});

describe("config: image overrides", () => {
  it("refuses an override for an image we do not run", () => refuses({ imageOverrides: '["mysql=mysql:8.4.0"]' }, "imageOverrides", /names no image/));
  it("keeps valid overrides by key", () => {
    assert.deepEqual(parse({ imageOverrides: '["redis=registry.local/valkey:8.1.3"]' }).app.imageOverrides, { redis: "registry.local/valkey:8.1.3" });
  });
});

describe("config: values that parse but are wrong are refused before any resource", () => {
  const cidrs = (list: string[]) => ({ ...doBase, doSshCidrs: JSON.stringify(list) });
  for (const list of [
    ["0.0.0.0/00"],
    ["0::/0"],
    ["0000:0000::/0"],
    ["0.0.0.0/1", "128.0.0.0/1"],
    ["1.2.3.4/0"],
    ["::/1", "8000::/1"],
    ["198.51.100.7/32", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"],
  ]) {
    it(`SSH allow-list ${list.join(" + ")} opens the world`, () =>
      refuses(cidrs(list), "doSshCidrs", /whole internet.*Fix: list your deploy machine/, doSecrets));
  }
  it("SSH allow-lists that leave part of the space closed pass", () => {
    for (const list of [["0.0.0.0/1"], ["0.0.0.0/1", "128.0.0.0/2"], ["203.0.113.0/24", "2001:db8::/48"]]) {
      assert.deepEqual(worldOpenFamilies(list), [], list.join(","));
      assert.doesNotThrow(() => parse(cidrs(list), doSecrets), list.join(","));
    }
    assert.deepEqual(worldOpenFamilies(["0.0.0.0/1", "128.0.0.0/1", "::/0"]), ["IPv4", "IPv6"]);
    assert.deepEqual(worldOpenFamilies(["::ffff:0.0.0.0/96"]), []);
    assert.ok(!isCidr("0:0:0:0:0:0:0:0:0/0"), "nine IPv6 groups");
    assert.ok(!isCidr("1::2::3/64"), "two ::");
  });

  for (const dir of [
    "/",
    "/opt",
    "/opt/",
    "/var/lib",
    "/usr",
    "/home",
    "/etc",
    "/root",
    "//opt//",
    "/opt/freshtrack/..",
    "/var/lib/freshtrack/../../lib",
    "/home/deploy",
    "/etc/freshtrack",
    "/tmp",
    "/var/lib/docker/ft",
    "/usr/local",
    "/srv",
  ]) {
    it(`vmAppDir ${dir} is a system directory (a purge runs rm -rf on it)`, () => {
      refuses({ vmAppDir: dir }, "vmAppDir", /system directory.*rm -rf.*Fix: pulumi config set vmAppDir \/opt\/freshtrack/);
      refuses({ ...doBase, vmAppDir: dir }, "vmAppDir", /system directory/, doSecrets);
    });
  }
  it("vmAppDir of its own passes", () => {
    for (const dir of ["/opt/freshtrack", "/srv/freshtrack/", "/var/lib/freshtrack", "/home/deploy/freshtrack", "/data"]) {
      assert.equal(systemDirectoryOf(dir), undefined, dir);
      assert.equal(parse({ vmAppDir: dir }).vm?.appDir, dir);
    }
  });

  it("an ssh-rsa host key (verified with SHA-1 only): ask for ed25519 or ecdsa", () =>
    refuses({ vmHostKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" }, "vmHostKey", /ssh-rsa.*SHA-1.*Fix: ssh-keyscan -t ed25519 HOST \(or -t ecdsa\)/));
  it("ecdsa host keys pass", () => assert.doesNotThrow(() => parse({ vmHostKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=" })));

  for (const app of ["backend", "worker", "frontend"]) {
    it(`imageOverrides for ${app} (ignored by the renderers): use ${app}Image`, () =>
      refuses(
        { imageOverrides: JSON.stringify([`${app}=ghcr.io/acme/frostguard-${app}:2.0.0`]) },
        "imageOverrides",
        new RegExp(`would be ignored.*Fix: pulumi config set ${app}Image ghcr\\.io/acme/frostguard-${app}:2\\.0\\.0`),
      ));
  }

  const aws = { target: "aws", vmHost: undefined, vmHostKey: undefined, vmSshPrivateKey: undefined };
  for (const [cron, why] of [
    ["0 3 1 * 1", /both day of month and day of week/],
    ["*/15 * * * *", /more than once an hour/],
    ["0,30 3 * * *", /more than once an hour/],
  ] as const) {
    it(`backupSchedule "${cron}" on aws: AWS Backup cannot run it`, () => {
      refuses({ ...aws, backupSchedule: cron }, "backupSchedule", why, new Set());
      refuses({ ...aws, backupSchedule: cron, backupRetentionDays: "90" }, "backupSchedule", /AWS Backup runs this schedule/, new Set());
    });
  }
  it("the same schedules stay valid for cron on vm; steps translate on aws", () => {
    assert.equal(parse({ backupSchedule: "*/15 * * * *" }).data.backupSchedule, "*/15 * * * *");
    assert.doesNotThrow(() => parse({ ...aws, backupSchedule: "0 3 * * */2", backupRetentionDays: "90" }, new Set()));
  });
});
