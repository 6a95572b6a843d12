// The policy pack against what the three example stacks really declare (offline
// plan under mocks, tests/helpers/plan.ts): everything passes with the stack's
// policy config, and breaking one real resource adds exactly that policy's violation.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { Finding, runPolicies } from "../../policy/lib/harness";
import { fromPlan } from "../../policy/lib/plan";
import type { Res } from "../../policy/lib/types";
import { archiveFiles, asArray, asRecord } from "../../policy/lib/values";
import { POLICIES } from "../../policy/policies";
import { serializeBundle } from "../../components/shared/host/bundle-payload";
import { mustPlan } from "../helpers/plan";

const ROOT = path.resolve(__dirname, "..", "..");
const STACKS = ["vm", "do", "aws"] as const;

function packConfig(stack: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", `${stack}.json`), "utf8")) as Record<string, unknown>;
}

const clone = (rs: Res[]): Res[] => JSON.parse(JSON.stringify(rs)) as Res[];
const fmt = (fs: Finding[]) => fs.map((f) => `${f.policy}: ${f.resource}: ${f.message}`).join("\n") || "(none)";

/** One way to break a real resource: returns the broken stack, or undefined when `r` does not lend itself. */
interface Breaker {
  type: string;
  apply: (r: Res, all: Res[]) => Res[] | undefined;
}

const setContainer = (r: Res, edit: (c: Record<string, unknown>) => void): Res[] | undefined => {
  if (typeof r.props.containerDefinitions !== "string") return undefined;
  const defs = JSON.parse(r.props.containerDefinitions) as Record<string, unknown>[];
  if (!defs.length) return undefined;
  edit(defs[0]);
  r.props.containerDefinitions = JSON.stringify(defs);
  return [];
};
const replaceIn = (all: Res[], r: Res, props: Record<string, unknown>): Res[] =>
  all.map((x) => (x.key === r.key ? { ...x, props: { ...x.props, ...props } } : x));

const BREAKERS: Record<string, Breaker[]> = {
  "images-pinned": [
    {
      type: "aws:ecs/taskDefinition:TaskDefinition",
      apply: (r, all) => (setContainer(r, (c) => (c.image = `${String(c.image).replace(/[:@].*$/, "")}:latest`)) ? replaceIn(all, r, r.props) : undefined),
    },
    {
      type: "command:remote:CopyToRemote",
      apply: (r, all) => {
        const files = archiveFiles(r.props.source);
        for (const [name, text] of Object.entries(files)) {
          if (!/compose[^/]*\.ya?ml$/.test(name)) continue;
          const m = /^(\s*image:\s*)(\S+?)(?:[:@]\S*)?\s*$/m.exec(text);
          if (!m) continue;
          const broken = { ...files, [name]: text.replace(m[0], `${m[1]}${m[2]}:latest`) };
          const src = r.props.source as { $asset?: string };
          // The push copies either one bundle payload (StringAsset) or an archive of files.
          const source =
            typeof src.$asset === "string"
              ? { $asset: serializeBundle(broken) }
              : { $archive: Object.fromEntries(Object.entries(broken).map(([k, v]) => [k, { $asset: v }])) };
          return replaceIn(all, r, { source });
        }
        return undefined;
      },
    },
  ],
  "database-protected": [
    { type: "aws:rds/instance:Instance", apply: (r, all) => replaceIn(all, r, { storageEncrypted: false }) },
    { type: "digitalocean:index/databaseCluster:DatabaseCluster", apply: (r, all) => replaceIn(all, r, { privateNetworkUuid: undefined }) },
  ],
  "database-firewalled": [{ type: "digitalocean:index/databaseFirewall:DatabaseFirewall", apply: (r, all) => all.filter((x) => x.type !== r.type) }],
  "listener-https-only": [
    {
      type: "aws:lb/listener:Listener",
      apply: (r, all) =>
        String(r.props.protocol).toUpperCase() === "HTTP" ? replaceIn(all, r, { defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }] }) : undefined,
    },
    {
      type: "aws:lb/listener:Listener",
      apply: (r, all) => (String(r.props.protocol).toUpperCase() === "HTTPS" ? replaceIn(all, r, { sslPolicy: "ELBSecurityPolicy-2016-08" }) : undefined),
    },
  ],
  "http-listener-rules-redirect": [
    {
      type: "aws:lb/listenerRule:ListenerRule",
      apply: (r, all) => {
        const http = all.find((x) => x.type === "aws:lb/listener:Listener" && String(x.props.protocol).toUpperCase() === "HTTP");
        return http && asArray(r.props.actions).some((a) => asRecord(a).type === "forward") ? replaceIn(all, r, { listenerArn: http.arn }) : undefined;
      },
    },
  ],
  "ingress-restricted": [
    {
      type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      apply: (r, all) => (r.props.cidrIpv4 === "0.0.0.0/0" ? replaceIn(all, r, { fromPort: 5432, toPort: 5432 }) : undefined),
    },
    {
      type: "aws:ec2/securityGroup:SecurityGroup",
      apply: (r, all) =>
        replaceIn(all, r, { ingress: [...asArray(r.props.ingress), { protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }] }),
    },
    {
      type: "digitalocean:index/firewall:Firewall",
      apply: (r, all) =>
        replaceIn(all, r, { inboundRules: [...asArray(r.props.inboundRules), { protocol: "tcp", portRange: "5432", sourceAddresses: ["0.0.0.0/0"] }] }),
    },
  ],
  "bucket-private-encrypted": [
    { type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", apply: (r, all) => replaceIn(all, r, { restrictPublicBuckets: false }) },
    { type: "digitalocean:index/spacesBucket:SpacesBucket", apply: (r, all) => replaceIn(all, r, { acl: "public-read" }) },
  ],
  "no-credentials-in-env": [
    {
      type: "aws:ecs/taskDefinition:TaskDefinition",
      apply: (r, all) =>
        setContainer(r, (c) => (c.environment = [...asArray(c.environment), { name: "POLICY_TEST_PASSWORD", value: "x" }]))
          ? replaceIn(all, r, r.props)
          : undefined,
    },
    {
      type: "digitalocean:index/droplet:Droplet",
      apply: (r, all) =>
        typeof r.props.userData === "string" ? replaceIn(all, r, { userData: `${r.props.userData}\nexport POLICY_TEST_TOKEN=x\n` }) : undefined,
    },
    { type: "command:remote:Command", apply: (r, all) => replaceIn(all, r, { environment: { ...asRecord(r.props.environment), POLICY_TEST_SECRET: "x" } }) },
  ],
  "remote-host-key-pinned": [
    { type: "command:remote:Command", apply: (r, all) => replaceIn(all, r, { connection: { ...asRecord(r.props.connection), hostKey: undefined } }) },
    { type: "command:remote:CopyToRemote", apply: (r, all) => replaceIn(all, r, { connection: { ...asRecord(r.props.connection), hostKey: undefined } }) },
  ],
  "remote-stdin-not-logged": [
    {
      type: "command:remote:Command",
      apply: (r, all) => (typeof r.props.stdin === "string" && r.props.stdin !== "" ? replaceIn(all, r, { logging: "stdoutAndStderr" }) : undefined),
    },
  ],
  "log-group-retention": [{ type: "aws:cloudwatch/logGroup:LogGroup", apply: (r, all) => replaceIn(all, r, { retentionInDays: undefined }) }],
  "backup-retention-recommended": [{ type: "aws:rds/instance:Instance", apply: (r, all) => replaceIn(all, r, { backupRetentionPeriod: 8 }) }],
};

describe("policy pack on the example stacks (offline plan)", function () {
  this.timeout(600000);
  const planned: Record<string, Res[]> = {};

  before(() => {
    for (const s of STACKS) planned[s] = fromPlan(mustPlan(s).resources);
  });

  for (const stack of STACKS) {
    it(`${stack}: every declared resource passes every policy with policy/config/${stack}.json`, () => {
      assert.equal(fmt(runPolicies(planned[stack], POLICIES, packConfig(stack))), "(none)");
    });
  }

  it("the images policy sees the Compose files vm and do push, and they are valid YAML", () => {
    for (const s of ["vm", "do"]) {
      const composeFiles: string[] = [];
      for (const r of planned[s].filter((x) => x.type === "command:remote:CopyToRemote")) {
        for (const [name, text] of Object.entries(archiveFiles(r.props.source))) {
          if (!/compose[^/]*\.ya?ml$/.test(name)) continue;
          composeFiles.push(name);
          for (const d of parseAllDocuments(text)) assert.deepEqual(d.errors.map(String), [], `${s} ${r.name} ${name}`);
        }
      }
      // Without this the images policy would pass a bundle it cannot read.
      assert.ok(composeFiles.includes("compose.yml"), `${s}: no compose.yml among the pushed files (${composeFiles.join(", ") || "none"})`);
    }
  });

  for (const policy of POLICIES) {
    it(`${policy.name}: breaking a real resource adds exactly its violation`, () => {
      const tried: string[] = [];
      for (const stack of STACKS) {
        const config = packConfig(stack);
        const before = runPolicies(planned[stack], POLICIES, config);
        for (const b of BREAKERS[policy.name] ?? []) {
          for (const r of planned[stack].filter((x) => x.type === b.type)) {
            const all = clone(planned[stack]);
            const broken = b.apply(
              all.find((x) => x.key === r.key)!,
              all,
            );
            if (!broken) continue;
            tried.push(`${stack}:${r.key}`);
            const seen = new Set(before.map((f) => `${f.policy}|${f.resource}|${f.message}`));
            const added = runPolicies(broken, POLICIES, config).filter((f) => !seen.has(`${f.policy}|${f.resource}|${f.message}`));
            assert.equal(added.length, 1, `${stack} ${r.key}: expected one new violation, got:\n${fmt(added)}`);
            assert.equal(added[0].policy, policy.name, fmt(added));
            assert.equal(added[0].level, policy.enforcementLevel);
            return;
          }
        }
      }
      assert.fail(`no stack declares a resource ${policy.name} checks (${policy.types.join(", ")}); tried ${tried.join(", ") || "nothing"}`);
    });
  }
});
