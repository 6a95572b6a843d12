// Guardrails without the Pulumi CLI: a hand-built stack passes every policy,
// and breaking one property of it produces exactly that policy's violation.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { fixtureStack, FIXTURE_CONFIG, COMPOSE_YML, containerDefinitions } from "../../policy/lib/fixtures";
import { Finding, levelOf, runPolicies } from "../../policy/lib/harness";
import type { Res } from "../../policy/lib/types";
import { UNKNOWN } from "../../policy/lib/values";
import { POLICIES } from "../../policy/policies";
import { DO_KNOWN_BACKUP_KEYS } from "../../policy/policies/databases";
import { imagePinProblem } from "../../policy/policies/images";
import { archiveFiles, payloadFiles } from "../../policy/lib/values";
import { serializeBundle } from "../../components/shared/host/bundle-payload";

const ROOT = path.resolve(__dirname, "..", "..");

function find(rs: Res[], type: string, name: string): Res {
  const r = rs.find((x) => x.type.endsWith(type) && x.name === name);
  if (!r) throw new Error(`fixture has no ${type} ${name}`);
  return r;
}
function withArchiveFile(r: Res, file: string, text: string) {
  const src = r.props.source as { $archive: Record<string, unknown> };
  src.$archive[file] = { $asset: text };
}
function inbound(r: Res): Record<string, unknown>[] {
  return r.props.inboundRules as Record<string, unknown>[];
}

interface BadCase {
  policy: string;
  what: string;
  mutate: (rs: Res[]) => Res[] | void;
  message: RegExp;
  level?: "advisory";
}

const BAD: BadCase[] = [
  {
    policy: "images-pinned",
    what: "ECS image :latest",
    mutate: (rs) =>
      void (find(rs, "TaskDefinition", "backend").props.containerDefinitions = containerDefinitions({ image: "ghcr.io/x/frostguard-backend:latest" })),
    message: /containerDefinitions\[backend\] image "ghcr.io\/x\/frostguard-backend:latest" uses the moving tag :latest/,
  },
  {
    policy: "images-pinned",
    what: "ECS image without tag",
    mutate: (rs) => void (find(rs, "TaskDefinition", "backend").props.containerDefinitions = containerDefinitions({ image: "ghcr.io/x/frostguard-backend" })),
    message: /has no tag/,
  },
  {
    policy: "images-pinned",
    what: "compose service :latest",
    mutate: (rs) => withArchiveFile(find(rs, "CopyToRemote", "copy-bundle"), "compose.yml", COMPOSE_YML.replace("caddy:2.10.2-alpine", "caddy:latest")),
    message: /source compose\.yml service caddy image "caddy:latest" uses the moving tag/,
  },
  {
    policy: "images-pinned",
    what: "compose service untagged (registry with port)",
    mutate: (rs) =>
      withArchiveFile(find(rs, "CopyToRemote", "copy-bundle"), "compose.vm.yml", "services:\n  postgres:\n    image: registry.local:5000/postgres\n"),
    message: /source compose\.vm\.yml service postgres image "registry.local:5000\/postgres" has no tag/,
  },
  {
    policy: "images-pinned",
    what: "compose image from the environment",
    mutate: (rs) => withArchiveFile(find(rs, "CopyToRemote", "copy-bundle"), "compose.do.yml", "services:\n  backend:\n    image: ${BACKEND_IMAGE}\n"),
    message: /is interpolated at run time/,
  },
  {
    policy: "images-pinned",
    what: "release.json image :latest",
    mutate: (rs) => withArchiveFile(find(rs, "CopyToRemote", "copy-bundle"), "release.json", JSON.stringify({ images: { grafana: "grafana/grafana:latest" } })),
    message: /release\.json images\.grafana image "grafana\/grafana:latest"/,
  },
  {
    policy: "images-pinned",
    what: "compose :latest inside a single-file bundle payload",
    mutate: (rs) =>
      void (find(rs, "CopyToRemote", "copy-bundle").props.source = {
        $asset: serializeBundle({
          "compose.yml": COMPOSE_YML.replace("valkey/valkey:8.1.3-alpine@sha256:" + "a".repeat(64), "valkey/valkey"),
          "bin/deploy": "#!/bin/sh\n",
        }),
      }),
    message: /source compose\.yml service redis image "valkey\/valkey" has no tag/,
  },
  {
    policy: "images-pinned",
    what: "a malformed bundle payload",
    mutate: (rs) => void (find(rs, "CopyToRemote", "copy-bundle").props.source = { $asset: "freshtrack-bundle/1\ncompose.yml\n" }),
    message: /source is a malformed bundle payload/,
  },
  {
    policy: "images-pinned",
    what: "compose file that is not YAML",
    mutate: (rs) => withArchiveFile(find(rs, "CopyToRemote", "copy-bundle"), "compose.observability.yml", "services: [\n"),
    message: /compose\.observability\.yml is not valid YAML/,
  },

  {
    policy: "database-protected",
    what: "RDS unencrypted",
    mutate: (rs) => void (find(rs, "rds/instance:Instance", "db").props.storageEncrypted = false),
    message: /storageEncrypted is false/,
  },
  {
    policy: "database-protected",
    what: "RDS public",
    mutate: (rs) => void (find(rs, "rds/instance:Instance", "db").props.publiclyAccessible = true),
    message: /publiclyAccessible is true/,
  },
  {
    policy: "database-protected",
    what: "RDS 3-day backups",
    mutate: (rs) => void (find(rs, "rds/instance:Instance", "db").props.backupRetentionPeriod = 3),
    message: /backupRetentionPeriod is 3; it must be at least 7/,
  },
  {
    policy: "database-protected",
    what: "RDS backups left to the API default",
    mutate: (rs) => void delete find(rs, "rds/instance:Instance", "db").props.backupRetentionPeriod,
    message: /backupRetentionPeriod is not set/,
  },
  {
    policy: "database-protected",
    what: "RDS deletable",
    mutate: (rs) => void (find(rs, "rds/instance:Instance", "db").props.deletionProtection = false),
    message: /deletionProtection is false/,
  },
  {
    policy: "database-protected",
    what: "RDS without final snapshot",
    mutate: (rs) => void (find(rs, "rds/instance:Instance", "db").props.skipFinalSnapshot = true),
    message: /skipFinalSnapshot is true/,
  },
  {
    policy: "database-protected",
    what: "DO cluster outside the VPC",
    mutate: (rs) => void delete find(rs, "DatabaseCluster", "db").props.privateNetworkUuid,
    message: /privateNetworkUuid is not set/,
  },
  {
    policy: "database-protected",
    what: "DO cluster not protected",
    mutate: (rs) => void (find(rs, "DatabaseCluster", "db").protect = false),
    message: /not protected \(resource option protect: true\)/,
  },
  {
    policy: "database-protected",
    what: "DO cluster of an engine without PITR",
    mutate: (rs) => void (find(rs, "DatabaseCluster", "db").props.engine = "valkey"),
    message: /engine "valkey" has no managed backups/,
  },
  {
    policy: "database-protected",
    what: "DO cluster with a backup switch this policy does not know",
    mutate: (rs) => void (find(rs, "DatabaseCluster", "db").props.backupsEnabled = false),
    message: /property backupsEnabled is not known/,
  },
  {
    policy: "database-firewalled",
    what: "DO cluster without database firewall",
    mutate: (rs) => rs.filter((r) => !r.type.endsWith("DatabaseFirewall")),
    message: /has no DatabaseFirewall/,
  },

  {
    policy: "listener-https-only",
    what: "HTTP listener that forwards",
    mutate: (rs) => void (find(rs, "Listener", "http").props.defaultActions = [{ type: "forward", targetGroupArn: "arn:tg" }]),
    message: /defaultActions\[0\] is "forward"; it must be a redirect to HTTPS/,
  },
  {
    policy: "listener-https-only",
    what: "HTTP listener redirecting to HTTP",
    mutate: (rs) =>
      void (find(rs, "Listener", "http").props.defaultActions = [{ type: "redirect", redirect: { protocol: "HTTP", port: "8080", statusCode: "HTTP_301" } }]),
    message: /redirects to HTTP; it must redirect to HTTPS/,
  },
  {
    policy: "listener-https-only",
    what: "HTTPS listener with the TLS 1.0 default",
    mutate: (rs) => void delete find(rs, "Listener", "https").props.sslPolicy,
    message: /has no sslPolicy/,
  },
  {
    policy: "listener-https-only",
    what: "HTTPS listener with TLS 1.1",
    mutate: (rs) => void (find(rs, "Listener", "https").props.sslPolicy = "ELBSecurityPolicy-TLS-1-1-2017-01"),
    message: /sslPolicy "ELBSecurityPolicy-TLS-1-1-2017-01" accepts TLS versions below 1\.2/,
  },

  {
    policy: "http-listener-rules-redirect",
    what: "a path rule forwarding on the HTTP listener",
    mutate: (rs) => void (find(rs, "ListenerRule", "to-backend-api").props.listenerArn = "arn:aws:mock:us-east-1:123456789012:http"),
    message: /listener rule to-backend-api on HTTP listener http: actions\[0\] is "forward"/,
  },

  {
    policy: "ingress-restricted",
    what: "security group opens PostgreSQL to the world",
    mutate: (rs) =>
      void (find(rs, "SecurityGroup", "alb").props.ingress as unknown[]).push({ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }),
    message: /ingress\[1\] \(tcp port 5432\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "security group opens everything to ::/0",
    mutate: (rs) =>
      void (find(rs, "SecurityGroup", "alb").props.ingress as unknown[]).push({ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }),
    message: /opens SSH to the world \(::\/0\)/,
  },
  {
    policy: "ingress-restricted",
    what: "ingress rule with SSH from the world",
    mutate: (rs) => void Object.assign(find(rs, "SecurityGroupIngressRule", "alb-http").props, { fromPort: 22, toPort: 22 }),
    message: /rule \(tcp port 22\) opens SSH to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "ingress rule 80-443 range",
    mutate: (rs) => void Object.assign(find(rs, "SecurityGroupIngressRule", "alb-http").props, { toPort: 443 }),
    message: /rule \(tcp ports 80-443\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "legacy rule opening Redis to the world",
    mutate: (rs) => void (find(rs, "SecurityGroupRule", "redis-from-vpc").props.cidrBlocks = ["0.0.0.0/0"]),
    message: /rule \(tcp port 6379\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "DO firewall SSH from an unlisted CIDR",
    mutate: (rs) => void (inbound(find(rs, "index/firewall:Firewall", "app"))[0].sourceAddresses = ["192.0.2.0/24"]),
    message: /allows SSH from 192\.0\.2\.0\/24, which is not in the configured sshCidrs \[198\.51\.100\.7\/32\]/,
  },
  {
    policy: "ingress-restricted",
    what: "SSH from a public range that is not configured (all protocols)",
    mutate: (rs) => void (find(rs, "SecurityGroupRule", "all-from-vpc").props.cidrBlocks = ["100.24.0.0/16"]),
    message: /rule \(all ports 0-65535\) allows SSH from 100\.24\.0\.0\/16, which is not in the configured sshCidrs/,
  },
  {
    policy: "ingress-restricted",
    what: "DO firewall opens Grafana to the world",
    mutate: (rs) => void inbound(find(rs, "index/firewall:Firewall", "app")).push({ protocol: "tcp", portRange: "3000", sourceAddresses: ["0.0.0.0/0"] }),
    message: /inboundRules\[3\] \(tcp port 3000\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "DO firewall opens udp/443 to the world (Caddy serves no HTTP/3)",
    mutate: (rs) => void inbound(find(rs, "index/firewall:Firewall", "app")).push({ protocol: "udp", portRange: "443", sourceAddresses: ["0.0.0.0/0"] }),
    message: /inboundRules\[3\] \(udp port 443\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "DO firewall all ports to the world",
    mutate: (rs) => void (inbound(find(rs, "index/firewall:Firewall", "app"))[3] = { protocol: "udp", portRange: "all", sourceAddresses: ["0.0.0.0/0"] }),
    message: /inboundRules\[3\] \(udp ports 1-65535\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "DO firewall ping from anywhere",
    mutate: (rs) => void inbound(find(rs, "index/firewall:Firewall", "app")).push({ protocol: "icmp", sourceAddresses: ["0.0.0.0/0"] }),
    message: /inboundRules\[3\] \(icmp\) is open to the world/,
  },
  {
    policy: "ingress-restricted",
    what: "DO database firewall admits the world",
    mutate: (rs) => void (find(rs, "DatabaseFirewall", "db").props.rules as unknown[]).push({ type: "ip_addr", value: "0.0.0.0/0" }),
    message: /rules\[1\] admits 0\.0\.0\.0\/0 to the database/,
  },

  {
    policy: "bucket-private-encrypted",
    what: "bucket without public access block",
    mutate: (rs) => rs.filter((r) => !r.type.endsWith("BucketPublicAccessBlock")),
    message: /bucket assets has no BucketPublicAccessBlock/,
  },
  {
    policy: "bucket-private-encrypted",
    what: "public access block with a flag off",
    mutate: (rs) => void (find(rs, "BucketPublicAccessBlock", "assets").props.restrictPublicBuckets = false),
    message: /leaves restrictPublicBuckets off/,
  },
  {
    policy: "bucket-private-encrypted",
    what: "bucket without encryption",
    mutate: (rs) => rs.filter((r) => !r.type.includes("ServerSideEncryption")),
    message: /bucket assets has no BucketServerSideEncryptionConfiguration/,
  },
  {
    policy: "bucket-private-encrypted",
    what: "encryption config of another bucket",
    mutate: (rs) => void (find(rs, "BucketServerSideEncryptionConfiguration", "assets").props.bucket = "other-id"),
    message: /bucket assets has no BucketServerSideEncryptionConfiguration/,
  },
  {
    policy: "bucket-private-encrypted",
    what: "bucket with public-read ACL",
    mutate: (rs) => void (find(rs, "s3/bucket:Bucket", "assets").props.acl = "public-read"),
    message: /public ACL "public-read"/,
  },
  {
    policy: "bucket-private-encrypted",
    what: "public Space",
    mutate: (rs) => void (find(rs, "SpacesBucket", "backups").props.acl = "public-read"),
    message: /Space backups has the public ACL/,
  },

  {
    policy: "no-credentials-in-env",
    what: "ECS env with a password",
    mutate: (rs) =>
      void (find(rs, "TaskDefinition", "backend").props.containerDefinitions = containerDefinitions({
        environment: [{ name: "MINIO_ROOT_PASSWORD", value: "x" }],
      })),
    message: /environment MINIO_ROOT_PASSWORD looks like a credential/,
  },
  {
    policy: "no-credentials-in-env",
    what: "ECS env DATABASE_URL",
    mutate: (rs) =>
      void (find(rs, "TaskDefinition", "backend").props.containerDefinitions = containerDefinitions({
        environment: [{ name: "DATABASE_URL", value: "postgresql://frostguard@db/frostguard" }],
      })),
    message: /environment DATABASE_URL looks like a credential/,
  },
  {
    policy: "no-credentials-in-env",
    what: "ECS env URL with a password under an innocent name",
    mutate: (rs) =>
      void (find(rs, "TaskDefinition", "backend").props.containerDefinitions = containerDefinitions({
        environment: [{ name: "QUEUE_URL", value: "redis://:hunter2@redis:6379" }],
      })),
    message: /QUEUE_URL holds a URL with a password/,
  },
  {
    policy: "no-credentials-in-env",
    what: "droplet user_data exporting a token",
    mutate: (rs) => void (find(rs, "Droplet", "app").props.userData = "#!/bin/sh\nexport TTN_API_KEY=NNSXS.abc\n"),
    message: /userData line 2 sets TTN_API_KEY/,
  },
  {
    policy: "no-credentials-in-env",
    what: "droplet user_data with a private key",
    mutate: (rs) =>
      void (find(rs, "Droplet", "app").props.userData = "#cloud-config\nssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    abc\n"),
    message: /userData contains a private key/,
  },
  {
    policy: "no-credentials-in-env",
    what: "remote command environment with a secret",
    mutate: (rs) => void (find(rs, "remote:Command", "deploy").props.environment = { APP_DIR: "/opt/freshtrack", JWT_SECRET: "x" }),
    message: /environment JWT_SECRET looks like a credential/,
  },

  {
    policy: "remote-host-key-pinned",
    what: "command without host key",
    mutate: (rs) => void delete (find(rs, "remote:Command", "deploy").props.connection as Record<string, unknown>).hostKey,
    message: /connection\.hostKey is not set/,
  },
  {
    policy: "remote-host-key-pinned",
    what: "copy with an empty host key",
    mutate: (rs) => void ((find(rs, "CopyToRemote", "copy-bundle").props.connection as Record<string, unknown>).hostKey = ""),
    message: /connection\.hostKey is not set/,
  },
  {
    policy: "remote-host-key-pinned",
    what: "bastion without host key",
    mutate: (rs) => void ((find(rs, "remote:Command", "deploy").props.connection as Record<string, unknown>).proxy = { host: "bastion", user: "jump" }),
    message: /connection\.proxy\.hostKey is not set/,
  },
  {
    policy: "remote-stdin-not-logged",
    what: "stdin with logging stdoutAndStderr",
    mutate: (rs) => void (find(rs, "remote:Command", "write-secrets").props.logging = "stdoutAndStderr"),
    message: /stdin is set but logging is "stdoutAndStderr"/,
  },
  {
    policy: "remote-stdin-not-logged",
    what: "stdin with logging left to the default",
    mutate: (rs) => void delete find(rs, "remote:Command", "write-secrets").props.logging,
    message: /logging is not set/,
  },

  {
    policy: "log-group-retention",
    what: "log group kept forever",
    mutate: (rs) => void delete find(rs, "LogGroup", "logs-backend").props.retentionInDays,
    message: /no retentionInDays: its logs never expire/,
    level: "advisory",
  },
  {
    policy: "backup-retention-recommended",
    what: "RDS backups 14 days",
    mutate: (rs) => void (find(rs, "rds/instance:Instance", "db").props.backupRetentionPeriod = 14),
    message: /backupRetentionPeriod is 14 days; 30 is recommended/,
    level: "advisory",
  },
];

function fmt(fs: Finding[]): string {
  return fs.map((f) => `${f.policy}: ${f.message}`).join("\n") || "(none)";
}

describe("policy pack on a hand-built stack", () => {
  it("the fixture stack passes every policy", () => {
    assert.equal(fmt(runPolicies(fixtureStack(), POLICIES, FIXTURE_CONFIG)), "(none)");
  });

  for (const c of BAD) {
    it(`${c.policy}: ${c.what} gives exactly its violation`, () => {
      const rs = fixtureStack();
      const mutated = c.mutate(rs) ?? rs;
      const findings = runPolicies(mutated, POLICIES, FIXTURE_CONFIG);
      assert.equal(findings.length, 1, `expected one violation, got:\n${fmt(findings)}`);
      assert.equal(findings[0].policy, c.policy);
      assert.equal(findings[0].level, c.level ?? "mandatory");
      assert.match(findings[0].message, c.message);
    });
  }

  it("every policy has at least one bad case above", () => {
    const covered = new Set(BAD.map((c) => c.policy));
    assert.deepEqual(
      POLICIES.map((p) => p.name).filter((n) => !covered.has(n)),
      [],
    );
  });

  it("every policy touches at least one fixture resource (its types are real)", () => {
    const types = new Set(fixtureStack().map((r) => r.type));
    assert.deepEqual(
      POLICIES.filter((p) => !p.types.some((t) => types.has(t))).map((p) => p.name),
      [],
    );
  });

  it("values unknown during preview are never violations", () => {
    const rs = fixtureStack();
    find(rs, "remote:Command", "deploy").props.connection = UNKNOWN;
    (find(rs, "CopyToRemote", "copy-bundle").props.connection as Record<string, unknown>).hostKey = { __pulumiUnknown: true };
    find(rs, "TaskDefinition", "backend").props.containerDefinitions = UNKNOWN;
    find(rs, "rds/instance:Instance", "db").props.storageEncrypted = UNKNOWN;
    find(rs, "remote:Command", "write-secrets").props.stdin = UNKNOWN;
    assert.equal(fmt(runPolicies(rs, POLICIES, FIXTURE_CONFIG)), "(none)");
  });

  it("a public value on the allow list is not a credential; the list is configurable", () => {
    const rs = fixtureStack();
    find(rs, "TaskDefinition", "backend").props.containerDefinitions = containerDefinitions({
      environment: [{ name: "FT_SECRET_VERSIONS", value: "c4e7cabe" }],
    });
    assert.equal(runPolicies(rs, POLICIES, FIXTURE_CONFIG).length, 1);
    const relaxed = { ...FIXTURE_CONFIG, "no-credentials-in-env": { allowNames: ["STACK_AUTH_PUBLISHABLE_KEY", "FT_SECRET_VERSIONS"] } };
    assert.equal(fmt(runPolicies(rs, POLICIES, relaxed)), "(none)");
  });

  it("allowHostKeyInUserData accepts only a cloud-config host key with the metadata service blocked for containers", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\n    abc\n    -----END OPENSSH PRIVATE KEY-----\n";
    const block =
      "write_files:\n  - path: /etc/systemd/system/docker.service.d/m.conf\n    content: |\n      ExecStartPost=-/bin/sh -c 'iptables -I DOCKER-USER -d 169.254.169.254/32 -j REJECT'\n";
    const hostKeyDoc = `#cloud-config\nssh_keys:\n  ed25519_private: |\n    ${key}  ed25519_public: ssh-ed25519 AAAA\n`;
    const allow = { ...FIXTURE_CONFIG, "no-credentials-in-env": { allowHostKeyInUserData: true } };
    const run = (userData: string, config: Record<string, unknown>) => {
      const rs = fixtureStack();
      find(rs, "Droplet", "app").props.userData = userData;
      return runPolicies(rs, POLICIES, config);
    };
    assert.match(fmt(run(hostKeyDoc + block, FIXTURE_CONFIG)), /userData contains a private key \(the metadata service/);
    assert.equal(fmt(run(hostKeyDoc + block, allow)), "(none)");
    assert.match(fmt(run(hostKeyDoc, allow)), /does not block containers from the metadata service/);
    assert.match(
      fmt(run(`${hostKeyDoc}${block}runcmd:\n  - |\n    cat > /root/id <<EOF\n    ${key}    EOF\n`, allow)),
      /private key outside cloud-config ssh_keys/,
    );
    assert.match(fmt(run(`#!/bin/sh\necho '${key}' > /etc/ssh/k\n# DOCKER-USER 169.254.169.254\n`, allow)), /not a cloud-config document/);
  });

  it("config relaxes an advisory policy (disabled, or a different threshold)", () => {
    const rs = fixtureStack();
    find(rs, "rds/instance:Instance", "db").props.backupRetentionPeriod = 14;
    assert.equal(runPolicies(rs, POLICIES, { ...FIXTURE_CONFIG, "backup-retention-recommended": "disabled" }).length, 0);
    assert.equal(runPolicies(rs, POLICIES, { ...FIXTURE_CONFIG, "backup-retention-recommended": { recommendedDays: 14 } }).length, 0);
    assert.equal(runPolicies(rs, POLICIES, { ...FIXTURE_CONFIG, "backup-retention-recommended": { recommendedDays: 21 } }).length, 1);
  });
});

describe("private ranges (SSH from inside the VPC is not exposure)", () => {
  const { isPrivate } = require("../../policy/policies/network") as typeof import("../../policy/policies/network");
  for (const [cidr, want] of [
    ["10.0.0.0/8", true],
    ["10.40.0.0/16", true],
    ["172.16.0.0/12", true],
    ["172.31.5.0/24", true],
    ["172.32.0.0/16", false],
    ["192.168.1.0/24", true],
    ["192.0.2.0/24", false],
    ["0.0.0.0/0", false],
    ["8.0.0.0/6", false],
    ["fd00:1::/64", true],
    ["2001:db8::/32", false],
    ["::/0", false],
  ] as [string, boolean][]) {
    it(`${cidr} -> ${want ? "private" : "public"}`, () => assert.equal(isPrivate(cidr), want));
  }
});

describe("bundle payload (components/shared/host/bundle-payload.ts)", () => {
  it("the policy reads back exactly the files the push serializes", () => {
    const ok = { "compose.yml": COMPOSE_YML, "bin/deploy": "#!/bin/sh\necho ü\n", "config/grafana/x.json": "{}" };
    assert.deepEqual(payloadFiles(serializeBundle(ok)), ok);
    assert.deepEqual(archiveFiles({ $asset: serializeBundle(ok) }), ok);
    assert.deepEqual(archiveFiles({ $asset: "just a file\n" }), {});
  });
});

describe("image references", () => {
  const cases: [string, RegExp | undefined][] = [
    ["ghcr.io/frostguard/frostguard-backend:1.8.2", undefined],
    ["caddy:2.10.2-alpine", undefined],
    [`postgres@sha256:${"0".repeat(64)}`, undefined],
    ["registry.local:5000/postgres:16.10-alpine", undefined],
    ["registry.local:5000/postgres", /no tag/],
    ["postgres", /no tag/],
    ["postgres:latest", /:latest/],
    ["postgres:LATEST", /:latest/],
    ["postgres@sha256:abc", /malformed digest/],
    ["${IMAGE}", /interpolated/],
    ["", /empty/],
  ];
  for (const [ref, want] of cases) {
    it(`${JSON.stringify(ref)} -> ${want ? want.source : "pinned"}`, () => {
      const got = imagePinProblem(ref);
      if (want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? "(pinned)", want);
    });
  }
});

describe("policy pack configuration files", () => {
  const files = fs.readdirSync(path.join(ROOT, "policy", "config")).filter((f) => f.endsWith(".json"));

  it("there is one config file per stack file", () => {
    // Pulumi.local.yaml is generated per machine (npm run local-host, gitignored) and uses its target's (vm) config.
    const stacks = fs
      .readdirSync(ROOT)
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f) && f !== "Pulumi.local.yaml")
      .map((f) => f.split(".")[1])
      .sort();
    assert.deepEqual(files.map((f) => f.replace(/\.json$/, "")).sort(), stacks);
  });

  for (const file of files) {
    it(`${file}: names only real policies and never lowers a mandatory one`, () => {
      const config = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", file), "utf8")) as Record<string, unknown>;
      const names = new Set(POLICIES.map((p) => p.name));
      assert.deepEqual(
        Object.keys(config).filter((k) => !names.has(k)),
        [],
        "unknown policy names",
      );
      assert.equal("all" in config, false, '"all" would change every policy at once');
      for (const p of POLICIES.filter((x) => x.enforcementLevel === "mandatory")) assert.equal(levelOf(p, config), "mandatory", `${file} lowers ${p.name}`);
      for (const p of POLICIES) {
        const own = config[p.name];
        if (own && typeof own === "object") {
          const props = Object.keys(own).filter((k) => k !== "enforcementLevel");
          const known = Object.keys(p.configSchema?.properties ?? {});
          assert.deepEqual(
            props.filter((k) => !known.includes(k)),
            [],
            `${file}: ${p.name} has no such setting`,
          );
        }
      }
    });
  }

  it("do.json's sshCidrs are exactly the do stack's doSshCidrs", () => {
    const stack = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.do.yaml"), "utf8")) as { config: Record<string, unknown> };
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", "do.json"), "utf8")) as { "ingress-restricted": { sshCidrs: string[] } };
    assert.deepEqual(config["ingress-restricted"].sshCidrs, stack.config["freshtrack:doSshCidrs"]);
  });

  it("policy definitions pass the engine's own checks (unique names, no 'all', no enforcementLevel in schemas)", () => {
    const names = POLICIES.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names.includes("all"), false);
    for (const p of POLICIES) {
      assert.equal("enforcementLevel" in (p.configSchema?.properties ?? {}), false, p.name);
      assert.ok(p.remediation.length > 20 && p.why.length > 20 && p.description.length > 20, p.name);
      assert.ok(Boolean(p.validateResource) !== Boolean(p.validateStack), `${p.name}: exactly one of validateResource/validateStack`);
    }
  });
});

describe("docs/policy.md", () => {
  it("lists every policy with its enforcement level and every config setting", () => {
    const text = fs.readFileSync(path.join(ROOT, "docs", "policy.md"), "utf8");
    for (const p of POLICIES) {
      assert.match(text, new RegExp(`\\| \`${p.name}\` \\| ${p.enforcementLevel} \\|`), `${p.name} missing or with the wrong level`);
      for (const setting of Object.keys(p.configSchema?.properties ?? {})) assert.ok(text.includes(`\`${setting}\``), `${p.name}.${setting} undocumented`);
    }
  });
});

describe("DigitalOcean backups cannot be switched off (provider schema)", () => {
  it("DatabaseClusterArgs of the installed provider has no backup setting besides backupRestore", () => {
    const dts = fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "digitalocean", "databaseCluster.d.ts"), "utf8");
    const body = /export interface DatabaseClusterArgs \{([\s\S]*?)\n\}/.exec(dts);
    assert.ok(body, "DatabaseClusterArgs not found in the SDK");
    const keys = [...body[1].matchAll(/^\s{4}(\w+)\??:/gm)].map((m) => m[1]);
    assert.ok(keys.includes("privateNetworkUuid") && keys.includes("engine"), `unexpected schema: ${keys.join(", ")}`);
    assert.deepEqual(
      keys.filter((k) => /backup|pitr|pointintime/i.test(k)),
      DO_KNOWN_BACKUP_KEYS,
    );
  });
});
