// Pure DigitalOcean helpers: firewall rules, DNS records, Spaces settings,
// alert policies and the placement guard, without mocks.
import { strict as assert } from "assert";
import { ALERT_WINDOWS, alertPolicies, alertRecipients } from "../../components/digitalocean/alerts";
import { DNS_TTL_SECONDS, dnsRecordOutputs, managedDnsRecords, relativeName } from "../../components/digitalocean/dns";
import { DO_DB_PORT, WORLD, cloudFirewallRules, databaseFirewallRules } from "../../components/digitalocean/firewall";
import { doTags } from "../../components/digitalocean/tags";
import { placementKeepers, placementProblems } from "../../components/digitalocean/placement";
import { assetsCors, assetsLifecycle, backupsLifecycle, spacesEndpoint, spacesRegion } from "../../components/digitalocean/spaces";
import { DO_REGIONS } from "../../core/catalog";

describe("digitalocean firewall rules", () => {
  const rules = cloudFirewallRules({ sshCidrs: ["198.51.100.7/32", "2001:db8::/64"], vpcIpRange: "10.20.0.0/20" });

  it("inbound: web to the world, SSH only from the given CIDRs, nothing else", () => {
    const byPort = rules.inbound.map((r) => `${r.protocol}/${r.portRange}`).sort();
    assert.deepEqual(byPort, ["tcp/22", "tcp/443", "tcp/80"]);
    for (const r of rules.inbound) {
      if (r.portRange === "22") assert.deepEqual(r.sourceAddresses, ["198.51.100.7/32", "2001:db8::/64"]);
      else assert.deepEqual(r.sourceAddresses, WORLD);
    }
  });

  it("outbound: the database port only into the VPC; world only for DNS, NTP, HTTP(S), ICMP and Resend's SMTP port 2587 (alert mail)", () => {
    const db = rules.outbound.filter((r) => r.portRange === String(DO_DB_PORT));
    assert.deepEqual(db, [{ protocol: "tcp", portRange: "25060", destinationAddresses: ["10.20.0.0/20"] }]);
    const world = rules.outbound.filter((r) => r.destinationAddresses.some((a) => WORLD.includes(a as string)));
    assert.deepEqual(world.map((r) => `${r.protocol}/${r.portRange ?? "any"}`).sort(), [
      "icmp/any",
      "tcp/2587",
      "tcp/443",
      "tcp/53",
      "tcp/80",
      "udp/123",
      "udp/53",
    ]);
    assert.ok(!rules.outbound.some((r) => r.protocol !== "icmp" && (r.portRange === undefined || r.portRange.includes("-"))), "no port ranges");
  });

  it("keeps an Output-like VPC range as given (generic value type)", () => {
    const marker = { output: "vpc-range" };
    const r = cloudFirewallRules<typeof marker>({ sshCidrs: ["192.0.2.1/32"], vpcIpRange: marker });
    assert.equal(r.outbound.find((x) => x.portRange === "25060")?.destinationAddresses[0], marker);
  });

  it("a move to this droplet: SSH out to the old host only (its address; a host name on that port only), and no other rule changes", () => {
    const base = { sshCidrs: ["192.0.2.1/32"], vpcIpRange: "10.0.0.0/20" };
    const plain = cloudFirewallRules(base);
    const pull = (host: string, port: number) => cloudFirewallRules({ ...base, movePullFrom: { host, port } });
    const extra = (r: ReturnType<typeof cloudFirewallRules>) => r.outbound.slice(plain.outbound.length);
    assert.deepEqual(extra(pull("203.0.113.10", 22)), [{ protocol: "tcp", portRange: "22", destinationAddresses: ["203.0.113.10/32"] }]);
    assert.deepEqual(extra(pull("2001:db8::10", 2222)), [{ protocol: "tcp", portRange: "2222", destinationAddresses: ["2001:db8::10/128"] }]);
    assert.deepEqual(extra(pull("old-host.customer.example", 22)), [{ protocol: "tcp", portRange: "22", destinationAddresses: WORLD }]);
    assert.deepEqual(pull("203.0.113.10", 22).outbound.slice(0, plain.outbound.length), plain.outbound);
    assert.deepEqual(pull("203.0.113.10", 22).inbound, plain.inbound);
  });

  it("a rollback's copy back from this droplet: SSH in from the old host's address too (never the world for a name), nothing else changes", () => {
    const base = { sshCidrs: ["192.0.2.1/32"], vpcIpRange: "10.0.0.0/20" };
    const plain = cloudFirewallRules(base);
    const by = (host: string) => cloudFirewallRules({ ...base, movePulledBy: { host } });
    const ssh = (r: ReturnType<typeof cloudFirewallRules>) => r.inbound.filter((x) => x.portRange === "22");
    assert.deepEqual(ssh(by("203.0.113.10")), [{ protocol: "tcp", portRange: "22", sourceAddresses: ["192.0.2.1/32", "203.0.113.10/32"] }]);
    assert.deepEqual(ssh(by("[2001:db8::10]"))[0].sourceAddresses, ["192.0.2.1/32", "2001:db8::10/128"]);
    assert.deepEqual(ssh(by("192.0.2.1"))[0].sourceAddresses, ["192.0.2.1/32"], "already a source: listed once");
    assert.deepEqual(by("old-host.customer.example").inbound, plain.inbound, "a host name adds no source (it would have to be the world)");
    assert.deepEqual(by("203.0.113.10").outbound, plain.outbound);
    assert.deepEqual(
      by("203.0.113.10").inbound.filter((x) => x.portRange !== "22"),
      plain.inbound.filter((x) => x.portRange !== "22"),
    );
  });

  it("refuses SSH from nowhere or from the whole internet", () => {
    assert.throws(() => cloudFirewallRules({ sshCidrs: [], vpcIpRange: "10.0.0.0/20" }), /at least one CIDR/);
    assert.throws(() => cloudFirewallRules({ sshCidrs: ["192.0.2.1/32", "0.0.0.0/0"], vpcIpRange: "10.0.0.0/20" }), /whole internet/);
    assert.throws(() => cloudFirewallRules({ sshCidrs: ["::/0"], vpcIpRange: "10.0.0.0/20" }), /whole internet/);
  });

  it("database trusted sources: the droplet tag and nothing else", () => {
    assert.deepEqual(databaseFirewallRules("ft-x-app"), [{ type: "tag", value: "ft-x-app" }]);
  });
});

describe("digitalocean DNS", () => {
  it("relative names inside the zone, the apex as @", () => {
    assert.equal(relativeName("app.bakery.example", "bakery.example"), "app");
    assert.equal(relativeName("a.b.bakery.example.", "Bakery.Example"), "a.b");
    assert.equal(relativeName("bakery.example", "bakery.example"), "@");
    assert.throws(() => relativeName("app.other.example", "bakery.example"), /not inside the zone/);
    assert.throws(() => relativeName("notbakery.example", "bakery.example"), /not inside the zone/);
  });

  it("managed: one A record for the domain in the zone; unmanaged: none", () => {
    const managed = managedDnsRecords({ domain: "app.bakery.example", zone: "bakery.example", manageDns: true, reservedIp: "203.0.113.5" });
    assert.deepEqual(managed, [{ key: "app-a", zone: "bakery.example", name: "app", type: "A", value: "203.0.113.5", ttl: DNS_TTL_SECONDS }]);
    assert.deepEqual(managedDnsRecords({ domain: "app.bakery.example", zone: "", manageDns: false, reservedIp: "203.0.113.5" }), []);
  });

  it("the dnsRecords output names the record either way and says who creates it", () => {
    const mine = dnsRecordOutputs({ domain: "app.bakery.example", zone: "bakery.example", manageDns: true, reservedIp: "203.0.113.5" });
    const theirs = dnsRecordOutputs({ domain: "app.bakery.example", zone: "", manageDns: false, reservedIp: "203.0.113.5" });
    for (const out of [mine, theirs])
      assert.deepEqual(
        out.map((r) => [r.type, r.name, r.value]),
        [["A", "app.bakery.example", "203.0.113.5"]],
      );
    assert.match(mine[0].purpose, /created by Pulumi in the DigitalOcean zone bakery\.example/);
    assert.match(theirs[0].purpose, /create it at your DNS provider/);
  });
});

describe("digitalocean Spaces", () => {
  it("every region we accept has a Spaces region; nyc1 uses nyc3", () => {
    for (const r of DO_REGIONS) assert.match(spacesRegion(r), /^[a-z]+\d$/);
    assert.equal(spacesRegion("nyc1"), "nyc3");
    assert.equal(spacesRegion("fra1"), "fra1");
    assert.equal(spacesEndpoint("nyc1"), "https://nyc3.digitaloceanspaces.com");
    assert.throws(() => spacesRegion("mars1"), /no Spaces region/);
  });

  it("backups expire after the retention; assets never expire; both clean up abandoned uploads", () => {
    assert.deepEqual(
      backupsLifecycle(30).map((r) => r.expiration?.days),
      [30],
    );
    assert.deepEqual(
      backupsLifecycle(30).map((r) => r.noncurrentVersionExpiration?.days),
      [30],
      "deleted/overwritten dumps stay recoverable for the retention",
    );
    assert.deepEqual(
      assetsLifecycle().filter((r) => r.expiration),
      [],
    );
    for (const r of [...assetsLifecycle(), ...backupsLifecycle(7)]) {
      assert.equal(r.enabled, true);
      assert.ok(r.abortIncompleteMultipartUploadDays >= 1);
    }
    assert.throws(() => backupsLifecycle(0), /whole number/);
    assert.throws(() => backupsLifecycle(1.5), /whole number/);
  });

  it("CORS: only the app's https origin, the methods presigned uploads need", () => {
    const [rule, ...rest] = assetsCors("app.bakery.example");
    assert.deepEqual(rest, []);
    assert.deepEqual(rule.allowedOrigins, ["https://app.bakery.example"]);
    assert.deepEqual([...rule.allowedMethods].sort(), ["GET", "HEAD", "POST", "PUT"]);
    assert.ok(!rule.allowedMethods.includes("DELETE"));
    assert.ok(rule.exposeHeaders.includes("ETag"), "multipart uploads read the ETag");
  });
});

describe("digitalocean alerts", () => {
  const policies = alertPolicies();
  it("droplet CPU, memory, disk and database CPU, memory, disk; unique names; sane thresholds and windows", () => {
    assert.deepEqual(policies.map((p) => `${p.scope}:${p.type.split("/").pop()}`).sort(), [
      "database:cpu_alerts",
      "database:disk_utilization_alerts",
      "database:memory_utilization_alerts",
      "droplet:cpu",
      "droplet:disk_utilization_percent",
      "droplet:memory_utilization_percent",
    ]);
    assert.equal(new Set(policies.map((p) => p.name)).size, policies.length);
    for (const p of policies) {
      assert.equal(p.compare, "GreaterThan");
      assert.ok(p.value > 50 && p.value < 100, `${p.name}: ${p.value}`);
      assert.ok((ALERT_WINDOWS as readonly string[]).includes(p.window));
      assert.ok(p.type.startsWith(p.scope === "droplet" ? "v1/insights/droplet/" : "v1/dbaas/alerts/"), p.type);
      assert.ok(p.description.length > 20 && p.description.length < 255);
    }
  });
  it("recipients: always the operator's email; the webhook only when set", () => {
    assert.deepEqual(alertRecipients("ops@x.example"), { emails: ["ops@x.example"] });
    const withHook = alertRecipients("ops@x.example", "https://hooks.slack.example/T/B/C");
    assert.deepEqual(withHook.emails, ["ops@x.example"]);
    assert.equal(withHook.slacks?.[0].url, "https://hooks.slack.example/T/B/C");
    assert.ok(withHook.slacks?.[0].channel);
  });
});

describe("digitalocean placement guard", () => {
  it("first deployment and an unchanged region pass", () => {
    assert.equal(placementProblems(undefined, { region: "fra1" }), undefined);
    assert.equal(placementProblems(placementKeepers({ region: "fra1" }), { region: "fra1" }), undefined);
  });
  it("a different region is refused with the reason and the fix", () => {
    const msg = placementProblems({ region: "fra1" }, { region: "ams3" });
    assert.ok(msg);
    assert.match(msg, /re-creating the managed database/);
    assert.match(msg, /created in "fra1", config now says "ams3"/);
    assert.match(msg, /Fix: pulumi config set doRegion fra1/);
  });
  it("keepers record exactly the region", () => {
    assert.deepEqual(placementKeepers({ region: "sgp1" }), { region: "sgp1" });
  });
});

describe("digitalocean tags", () => {
  it("key:value, lower-case, only characters DigitalOcean accepts", () => {
    assert.deepEqual(doTags({ app: "freshtrack", stack: "Bakery Co", "managed-by": "pulumi" }), ["app:freshtrack", "stack:bakery-co", "managed-by:pulumi"]);
    for (const t of doTags({ a: "x/y@z" })) assert.match(t, /^[a-z0-9:_-]+$/);
  });
});
