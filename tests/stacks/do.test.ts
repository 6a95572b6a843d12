// The digitalocean stack under mocks: the properties that keep readings and
// credentials safe, checked on the resources the real program declares.
import { strict as assert } from "assert";
import * as ini from "ini";
import { USER_SECRET_KEYS } from "../../core/config";
import { parseSecretPayload } from "../../compose/secret-files";
import { parse as parseYaml } from "yaml";
import { HOST_STEPS, HOST_TEARDOWN_STEP, scriptCommand } from "../../components/shared/host";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { pgbouncerClientUser } from "../../compose/secret-files";
import { LASTING_SECRET_NAMES } from "../../components/shared/secrets";
import type { PlanResult, PlannedResource } from "../../scripts/lib/program";
import { dummySecret } from "../../scripts/lib/program";
import { cloudConfigSchemaErrors } from "../helpers/cloud-init-schema";
import { mustPlan, ofType, one, unmarkedStrings } from "../helpers/plan";
import { runInChild } from "../helpers/plan-pool";

const T = {
  target: "freshtrack:digitalocean:Target",
  host: "freshtrack:host:Deployment",
  vpc: "digitalocean:index/vpc:Vpc",
  db: "digitalocean:index/databaseCluster:DatabaseCluster",
  dbDb: "digitalocean:index/databaseDb:DatabaseDb",
  dbUser: "digitalocean:index/databaseUser:DatabaseUser",
  dbFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
  droplet: "digitalocean:index/droplet:Droplet",
  sshKey: "digitalocean:index/sshKey:SshKey",
  tag: "digitalocean:index/tag:Tag",
  reservedIp: "digitalocean:index/reservedIp:ReservedIp",
  assignment: "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
  firewall: "digitalocean:index/firewall:Firewall",
  bucket: "digitalocean:index/spacesBucket:SpacesBucket",
  cors: "digitalocean:index/spacesBucketCorsConfiguration:SpacesBucketCorsConfiguration",
  spacesKey: "digitalocean:index/spacesKey:SpacesKey",
  project: "digitalocean:index/project:Project",
  projectResources: "digitalocean:index/projectResources:ProjectResources",
  dns: "digitalocean:index/dnsRecord:DnsRecord",
  alert: "digitalocean:index/monitorAlert:MonitorAlert",
  uptimeCheck: "digitalocean:index/uptimeCheck:UptimeCheck",
  uptimeAlert: "digitalocean:index/uptimeAlert:UptimeAlert",
  tlsKey: "tls:index/privateKey:PrivateKey",
  placement: "random:index/randomId:RandomId",
  command: "command:remote:Command",
  copy: "command:remote:CopyToRemote",
};

// Every user secret the DO stack can use, with a recognisable dummy value.
const USER_SECRETS: Record<string, string> = Object.fromEntries(USER_SECRET_KEYS.filter((k) => k !== "vmSshPrivateKey").map((k) => [k, dummySecret(k)]));
const FINGERPRINTS = ["aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"];
const BASE = { doSshKeyFingerprints: FINGERPRINTS };
// Few plans (each spawns the program): one with larger sizes, one with everything optional off.
const LARGER = { ...BASE, doDbSize: "db-s-2vcpu-4gb", doDbVersion: "15", doDropletBackups: "daily", backupRetentionDays: 90 };
const MINIMAL = { ...BASE, doSshCidrs: ["203.0.113.0/24", "2001:db8::/48"], doRegion: "nyc1", doManageDns: false, doDropletBackups: "off" };
const IMAGES_CHANGED = { ...BASE, backendImage: "ghcr.io/frostguard/frostguard-backend:1.9.0", workerImage: "ghcr.io/frostguard/frostguard-worker:1.9.0" };
const SECRET_ROTATED = { ...USER_SECRETS, stripeSecretKey: "DUMMYSECRETrotatedX" };
/** Markers of every dummy secret the mocks produce: config secrets, random passwords, DO passwords, TLS keys. */
const SECRET_MARKERS = /DUMMYSECRET|RNDSECRET/;

const secretOf = (v: unknown): unknown => {
  const o = v as { $secret?: unknown };
  assert.ok(o && typeof o === "object" && "$secret" in o, `expected a secret, got ${JSON.stringify(v)?.slice(0, 200)}`);
  return o.$secret;
};
const userDataOf = (r: PlanResult): string => secretOf(one(r, T.droplet).inputs.userData) as string;
const infraOf = (r: PlanResult): PlannedResource[] => r.resources.filter((x) => !x.type.startsWith("command:") && x.type !== "pulumi:pulumi:Stack");
const deployResources = (r: PlanResult): PlannedResource[] => r.resources.filter((x) => x.type.startsWith("command:"));
const byKey = (rs: PlannedResource[]) => Object.fromEntries(rs.map((x) => [`${x.type}::${x.name}`, x]));
const payloadOf = (r: PlanResult) => parseSecretPayload(secretOf(one(r, T.command, "write-secrets").inputs.stdin) as string);
const bundleOf = (r: PlanResult): Record<string, string> => copiedFiles(one(r, T.copy, "copy-bundle").inputs.source);

describe("stacks/do: the DigitalOcean target under mocks", () => {
  let r: PlanResult; // stack file + operator fingerprint, every user secret set
  before(() => {
    r = mustPlan("do", BASE, USER_SECRETS);
  });

  it("every DigitalOcean, TLS and command resource sits inside the component", () => {
    const strays = r.resources.filter(
      (x) =>
        /^(digitalocean|tls|command):/.test(x.type) && !["freshtrack:digitalocean:Target::do", "freshtrack:host:Deployment::host"].includes(x.parent ?? ""),
    );
    assert.deepEqual(
      strays.map((s) => `${s.type} ${s.name}`),
      [],
    );
    assert.equal(one(r, T.host).parent, "freshtrack:digitalocean:Target::do");
  });

  it("VPC in the region, protected; the database lives in it", () => {
    const vpc = one(r, T.vpc);
    assert.equal(vpc.inputs.region, "fra1");
    assert.equal(vpc.options.protect, true);
    assert.equal(one(r, T.db).inputs.privateNetworkUuid, "vpc-id");
    assert.equal(one(r, T.droplet).inputs.vpcUuid, "vpc-id");
  });

  it("managed PostgreSQL: pg, version and size from config, one node, maintenance window, protected, replacement-causing fields ignored", () => {
    const db = one(r, T.db);
    assert.equal(db.inputs.engine, "pg");
    assert.equal(db.inputs.version, "16");
    assert.equal(db.inputs.size, "db-s-1vcpu-1gb");
    assert.equal(db.inputs.region, "fra1");
    assert.equal(db.inputs.nodeCount, 1);
    assert.deepEqual(db.inputs.maintenanceWindows, [{ day: "sunday", hour: "05:00" }]);
    assert.equal(db.options.protect, true);
    assert.deepEqual([...(db.options.ignoreChanges ?? [])].sort(), ["privateNetworkUuid", "region"]);
    const bigger = mustPlan("do", LARGER, USER_SECRETS);
    assert.equal(one(bigger, T.db).inputs.size, "db-s-2vcpu-4gb");
    assert.equal(one(bigger, T.db).inputs.version, "15");
  });

  it("database frostguard (protected) and app user frostguard, not doadmin", () => {
    const d = one(r, T.dbDb);
    assert.equal(d.inputs.name, "frostguard");
    assert.equal(d.inputs.clusterId, "db-id");
    assert.equal(d.options.protect, true);
    const u = one(r, T.dbUser);
    assert.equal(u.inputs.name, "frostguard");
    assert.equal(u.inputs.clusterId, "db-id");
  });

  it("placement guard records the region at creation and is frozen with ignoreChanges", () => {
    const g = one(r, T.placement, "do-placement");
    assert.deepEqual(g.inputs.keepers, { region: "fra1" });
    assert.deepEqual(g.options.ignoreChanges, ["keepers"]);
  });

  it("database firewall admits only the droplets' tag; nothing by IP, nothing public", () => {
    const fw = one(r, T.dbFirewall);
    const tag = one(r, T.tag).inputs.name as string;
    assert.equal(fw.inputs.clusterId, "db-id");
    assert.deepEqual(fw.inputs.rules, [{ type: "tag", value: tag }]);
    assert.ok((one(r, T.droplet).inputs.tags as string[]).includes(tag), "the droplet carries the tag the database trusts");
  });

  it("cloud firewall on the tag: 80/443 from the world, 22 only from doSshCidrs; outbound DB port only to the VPC", () => {
    const fw = one(r, T.firewall);
    assert.deepEqual(fw.inputs.tags, [one(r, T.tag).inputs.name]);
    type In = { protocol: string; portRange?: string; sourceAddresses: string[] };
    type Out = { protocol: string; portRange?: string; destinationAddresses: string[] };
    const inbound = (fw.inputs.inboundRules as In[]).map((x) => `${x.protocol}/${x.portRange}<-${x.sourceAddresses.join(",")}`).sort();
    assert.deepEqual(inbound, ["tcp/22<-198.51.100.7/32", "tcp/443<-0.0.0.0/0,::/0", "tcp/80<-0.0.0.0/0,::/0"]);
    const outbound = fw.inputs.outboundRules as Out[];
    const db = outbound.filter((x) => x.portRange === "25060");
    assert.deepEqual(db, [{ protocol: "tcp", portRange: "25060", destinationAddresses: ["10.110.16.0/20"] }]);
    // Nothing else goes out to the world but DNS, NTP, HTTP(S), ICMP and alert mail to Resend (2587: DO blocks 587).
    const world = outbound
      .filter((x) => x.destinationAddresses.includes("0.0.0.0/0"))
      .map((x) => `${x.protocol}/${x.portRange ?? "-"}`)
      .sort();
    assert.deepEqual(world, ["icmp/-", "tcp/2587", "tcp/443", "tcp/53", "tcp/80", "udp/123", "udp/53"]);
    // The bundle's Alertmanager mails through that port.
    assert.match(bundleOf(r)["config/alertmanager.yml"], /smarthost: smtp\.resend\.com:2587\n/);

    const other = mustPlan("do", MINIMAL);
    const ssh = (one(other, T.firewall).inputs.inboundRules as In[]).filter((x) => x.portRange === "22");
    assert.deepEqual(ssh, [{ protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24", "2001:db8::/48"] }]);
  });

  it("droplet: size/image from config, monitoring, generated + operator SSH keys, weekly backups, user_data changes never replace it", () => {
    const d = one(r, T.droplet);
    assert.equal(d.inputs.size, "s-2vcpu-4gb");
    assert.equal(d.inputs.image, "ubuntu-24-04-x64");
    assert.equal(d.inputs.region, "fra1");
    assert.equal(d.inputs.monitoring, true);
    assert.equal(d.inputs.backups, true);
    assert.deepEqual(d.inputs.backupPolicy, { plan: "weekly", hour: 4, weekday: "SUN" });
    assert.deepEqual(d.inputs.sshKeys, ["00:11:22", ...FINGERPRINTS]);
    assert.ok((d.options.ignoreChanges ?? []).includes("userData"));
    assert.ok((d.options.ignoreChanges ?? []).includes("sshKeys"));
    // The DO SSH key is the generated deploy key's public half.
    assert.match(one(r, T.sshKey).inputs.publicKey as string, /^ssh-ed25519 \S+deploykey/);
    assert.deepEqual(
      ofType(r, T.tlsKey)
        .map((k) => [k.name, k.inputs.algorithm])
        .sort(),
      [
        ["deploy-key", "ED25519"],
        ["droplet-host-key", "ED25519"],
      ],
    );

    const daily = mustPlan("do", LARGER, USER_SECRETS);
    assert.deepEqual(one(daily, T.droplet).inputs.backupPolicy, { plan: "daily", hour: 4 });
  });

  it("backups off, no DNS zone and a region without Spaces: no backup policy, buckets in the nearest Spaces region, no DNS records but instructions", () => {
    const o = mustPlan("do", MINIMAL);
    const d = one(o, T.droplet);
    assert.equal(d.inputs.backups, false);
    assert.equal(d.inputs.backupPolicy, undefined);
    assert.equal(d.inputs.region, "nyc1");
    assert.equal(one(o, T.db).inputs.region, "nyc1");
    assert.deepEqual(
      ofType(o, T.bucket).map((b) => b.inputs.region),
      ["nyc3", "nyc3"],
    );
    assert.deepEqual(ofType(o, T.dns), []);
    const recs = o.outputs.dnsRecords as { type: string; name: string; value: string; purpose: string }[];
    assert.deepEqual(
      recs.map((x) => [x.type, x.name, x.value]),
      [["A", "app.bakery-co.example", "203.0.113.20"]],
    );
    assert.match(recs[0].purpose, /create it at your DNS provider/);
    const env = bundleOf(o);
    assert.ok(
      Object.values(env).some((t) => t.includes("https://nyc3.digitaloceanspaces.com")),
      "the bundle points at the Spaces endpoint of nyc3",
    );
  });

  it("user_data: bootstrap only; no secret but the accepted host key; host key pinned by the push", () => {
    const ud = userDataOf(r);
    assert.match(ud, /^#cloud-config\n/);
    const found = ud.match(/(DUMMYSECRET|RNDSECRET)[A-Za-z0-9]*/g) ?? [];
    assert.deepEqual([...new Set(found)], ["RNDSECRETdroplethostkeyX"], "only the host private key may be in user_data");
    for (const v of Object.values(USER_SECRETS)) assert.ok(!ud.includes(v), `user_data holds ${v}`);
    assert.ok(!/postgresql:\/\/|DOSPACES|ghcr\.io|frostguard-backend/.test(ud), "no connection string, Spaces key or image in user_data");
    // The push pins the same host key cloud-init installs.
    const conn = secretOf(one(r, T.command, "wait").inputs.connection) as Record<string, unknown>;
    const pub = /ed25519_public: (ssh-ed25519 \S+)/.exec(ud)?.[1];
    assert.ok(pub);
    assert.equal(conn.hostKey, pub);
  });

  it("the push's bootstrap step runs the script and argv cloud-init ran at first boot (one source of both)", () => {
    const runcmd = (parseYaml(userDataOf(r)) as { runcmd: string[][] }).runcmd;
    const boot = runcmd.find((c) => c[0] === "bash" && c[3] === "bootstrap");
    assert.ok(boot, "cloud-init runs the bootstrap");
    const [, , script, name, ...argv] = boot;
    assert.deepEqual(argv, ["/opt/freshtrack", "false", "22", "root", "deploy"]);
    assert.equal(one(r, T.command, "bootstrap").inputs.create, scriptCommand(script, name, argv, false));
  });

  it("user_data the droplet gets passes cloud-init's own JSON schema (a failing document means a degraded boot)", () => {
    assert.deepEqual(cloudConfigSchemaErrors(userDataOf(r)), []);
    assert.deepEqual(cloudConfigSchemaErrors(userDataOf(mustPlan("do", MINIMAL))), []);
  });

  it("user_data is identical when only images change, and when a secret changes", () => {
    const imgs = mustPlan("do", IMAGES_CHANGED, USER_SECRETS);
    assert.equal(userDataOf(imgs), userDataOf(r));
    const sec = mustPlan("do", BASE, SECRET_ROTATED);
    assert.equal(userDataOf(sec), userDataOf(r));
  });

  it("new images or a rotated secret change only the deploy steps; droplet, DB, VPC, buckets keep identical inputs", () => {
    const imgs = mustPlan("do", IMAGES_CHANGED, USER_SECRETS);
    const sec = mustPlan("do", BASE, SECRET_ROTATED);
    for (const [what, other, mustChange] of [
      ["images", imgs, ["copy-bundle", "deploy", "preflight", "unpack-bundle"]],
      ["secret", sec, ["write-secrets", "deploy", "preflight"]],
    ] as const) {
      const a = byKey(infraOf(r));
      const b = byKey(infraOf(other));
      assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), `${what}: same infrastructure resources`);
      for (const k of Object.keys(a)) assert.deepEqual(b[k].inputs, a[k].inputs, `${what}: ${k} inputs changed`);
      const da = byKey(deployResources(r));
      const db = byKey(deployResources(other));
      const changed = Object.keys(da)
        .filter((k) => JSON.stringify(da[k].inputs) !== JSON.stringify(db[k].inputs))
        .map((k) => k.split("::")[1]);
      for (const step of mustChange) assert.ok(changed.includes(step), `${what}: ${step} must re-run (changed: ${changed.join(", ")})`);
    }
  });

  it("reserved IP in the region, assigned to the droplet; outputs point at it", () => {
    assert.equal(one(r, T.reservedIp).inputs.region, "fra1");
    const a = one(r, T.assignment);
    assert.equal(a.inputs.ipAddress, "203.0.113.20");
    assert.ok("dropletId" in a.inputs);
    assert.equal(r.outputs.hostAddress, "203.0.113.20");
    assert.equal(r.outputs.databaseEndpoint, "private-db.db.ondigitalocean.com:25060");
    assert.equal(r.outputs.url, "https://app.bakery-co.example");
  });

  it("managed DNS: one A record for the app domain in the zone -> reserved IP", () => {
    const recs = ofType(r, T.dns).map((x) => x.inputs);
    assert.deepEqual(recs, [{ domain: "bakery-co.example", name: "app", type: "A", value: "203.0.113.20", ttl: 300 }]);
    const out = r.outputs.dnsRecords as { purpose: string }[];
    assert.match(out[0].purpose, /created by Pulumi/);
  });

  it("Spaces: assets and backups buckets, private, protected; backups expire after backupRetentionDays; assets never expire; CORS for the app origin", () => {
    const buckets = Object.fromEntries(ofType(r, T.bucket).map((b) => [b.name, b]));
    assert.deepEqual(Object.keys(buckets).sort(), ["assets", "backups"]);
    for (const b of Object.values(buckets)) {
      assert.equal(b.inputs.acl, "private");
      assert.equal(b.inputs.region, "fra1");
      assert.equal(b.options.protect, true);
      assert.notEqual(b.inputs.forceDestroy, true);
    }
    const expiry = (b: PlannedResource) =>
      (b.inputs.lifecycleRules as { expiration?: { days: number } }[]).map((x) => x.expiration?.days).filter((x) => x !== undefined);
    assert.deepEqual(expiry(buckets.backups), [30]);
    assert.deepEqual(expiry(buckets.assets), []);
    const longer = mustPlan("do", LARGER, USER_SECRETS);
    assert.deepEqual(expiry(ofType(longer, T.bucket).find((b) => b.name === "backups")!), [90]);
    // The backups bucket is versioned: a delete or overwrite keeps the previous version for the full retention.
    assert.deepEqual(buckets.backups.inputs.versioning, { enabled: true });
    assert.deepEqual(
      (buckets.backups.inputs.lifecycleRules as { noncurrentVersionExpiration?: { days: number } }[]).map((x) => x.noncurrentVersionExpiration?.days),
      [30],
    );
    const cors = one(r, T.cors);
    assert.equal(cors.inputs.bucket, buckets.assets.inputs.name);
    const rules = cors.inputs.corsRules as { allowedOrigins: string[]; allowedMethods: string[] }[];
    assert.deepEqual(
      rules.flatMap((x) => x.allowedOrigins),
      ["https://app.bakery-co.example"],
    );
    assert.ok(rules[0].allowedMethods.includes("PUT"));
  });

  it("Spaces keys: the app's has its own bucket only (no grant on backups); the backup job's has the backups bucket; each reaches the host only in its own secret files", () => {
    const keys = Object.fromEntries(ofType(r, T.spacesKey).map((k) => [k.name, k]));
    // The shared `spaces-key` of earlier releases is gone: Pulumi deletes it at the end of the update, after the push.
    assert.deepEqual(Object.keys(keys).sort(), ["app-spaces-key", "backup-spaces-key"]);
    const grants = (k: PlannedResource) => (k.inputs.grants as { bucket: string; permission: string }[]).map((g) => `${g.bucket}:${g.permission}`).sort();
    assert.deepEqual(grants(keys["app-spaces-key"]), ["ft-do-assets:readwrite"]);
    // readwrite on assets: bin/restore --uploads writes a backup's uploads back with this key.
    assert.deepEqual(grants(keys["backup-spaces-key"]), ["ft-do-assets:readwrite", "ft-do-backups:readwrite"]);
    // Create-before-delete: the key the running release uses stays valid until the new one is on the host.
    for (const k of Object.values(keys)) assert.notEqual(k.options.deleteBeforeReplace, true, k.name);
    assert.notEqual(keys["app-spaces-key"].inputs.name, keys["backup-spaces-key"].inputs.name);

    const files = payloadOf(r);
    // Mock keys: access key DOSPACES<length of the resource name>, secret RNDSECRET<name>spacesX.
    const app = { id: "DOSPACES14", secret: "RNDSECRETappspaceskeyspacesX" };
    const backup = { id: "DOSPACES17", secret: "RNDSECRETbackupspaceskeyspacesX" };
    assert.equal(files["app/MINIO_ROOT_USER"].content, app.id);
    assert.equal(files["app/MINIO_ROOT_PASSWORD"].content, app.secret);
    const holders = (v: string) =>
      Object.entries(files)
        .filter(([, f]) => f.content.includes(v))
        .map(([p]) => p)
        .sort();
    // By value: the backup key only in the backup job's rclone.conf, the app's key only in the app's env files.
    assert.deepEqual(holders(backup.secret), ["backup/rclone.conf"]);
    assert.deepEqual(holders(backup.id), ["backup/rclone.conf"]);
    assert.deepEqual(holders(app.secret), ["app/MINIO_ROOT_PASSWORD"]);
    assert.deepEqual(holders(app.id), ["app/MINIO_ROOT_USER"]);
    const rclone = ini.parse(files["backup/rclone.conf"].content).backups as Record<string, string>;
    assert.equal(rclone.access_key_id, backup.id);
    assert.equal(rclone.secret_access_key, backup.secret);
    assert.equal(rclone.provider, "DigitalOcean");
    assert.equal(rclone.endpoint, "https://fra1.digitaloceanspaces.com");
    // Nowhere else in the plan: no input carries either key in the clear (the write-secrets payload is base64, in a secret).
    const carriers = r.resources.filter((x) => [backup.secret, app.secret].some((v) => JSON.stringify(x.inputs).includes(v))).map((x) => x.name);
    assert.deepEqual(carriers, []);
  });

  it("backups bucket: a deleted or overwritten backup stays a noncurrent version for backupRetentionDays (Spaces keys cannot write without delete)", () => {
    for (const [plan, days] of [
      [r, 30],
      [mustPlan("do", LARGER, USER_SECRETS), 90],
    ] as const) {
      const b = ofType(plan, T.bucket).find((x) => x.name === "backups")!;
      assert.deepEqual(b.inputs.versioning, { enabled: true });
      const rules = b.inputs.lifecycleRules as { enabled: boolean; noncurrentVersionExpiration?: { days: number } }[];
      const kept = rules.filter((x) => x.enabled && x.noncurrentVersionExpiration).map((x) => x.noncurrentVersionExpiration!.days);
      assert.ok(kept.length > 0 && kept.every((d) => d >= days), `noncurrent versions kept ${kept.join(",")} days, retention ${days}`);
    }
  });

  it("secret files: pooled URL via our PgBouncer, direct TLS URL for migrations, the stack's app password (not DO's), doadmin only for db-setup", () => {
    const files = payloadOf(r);
    // The lasting db-app-password (dbPasswordGeneration), as on vm: db-setup sets it as doadmin.
    const appPw = "RNDSECRETdbapppasswordX";
    assert.ok(!JSON.stringify(files).includes("RNDSECRETdbuserfrostguarddopasswordX"), "DigitalOcean's generated app password is not used");
    const adminPw = "RNDSECRETdbdopasswordX";
    // The app's PgBouncer login is per password (pgbouncerClientUser); PgBouncer logs in to the cluster as frostguard.
    assert.equal(files["app/DATABASE_URL"].content, `postgresql://${pgbouncerClientUser(appPw)}:${appPw}@pgbouncer:5432/frostguard`);
    const tls = "sslmode=verify-full&sslrootcert=%2Fetc%2Ffreshtrack%2Fdb-ca.crt";
    assert.equal(files["migrate/DATABASE_URL"].content, `postgresql://frostguard:${appPw}@private-db.db.ondigitalocean.com:25060/frostguard?${tls}`);
    assert.equal(files["db-setup/ADMIN_DATABASE_URL"].content, `postgresql://doadmin:${adminPw}@private-db.db.ondigitalocean.com:25060/defaultdb?${tls}`);
    assert.equal(files["db-setup/APP_DB_PASSWORD"].content, appPw);
    assert.equal(files["pgbouncer/userlist.txt"].content, `"frostguard" "${appPw}"\n"${pgbouncerClientUser(appPw)}" "${appPw}"\n`);
    assert.equal(files["postgres/POSTGRES_PASSWORD"], undefined, "no self-hosted postgres on digitalocean");
    assert.equal(files["app/STRIPE_SECRET_KEY"].content, USER_SECRETS.stripeSecretKey);
    // The lasting TTN salt is the one every target uses.
    assert.equal(files["app/TTN_ENCRYPTION_SALT"].content, "RNDSECRETttnencryptionsaltX");
  });

  it("bundle: rendered for digitalocean with the managed DB's private host and Spaces; holds no secret", () => {
    const files = bundleOf(r);
    const release = JSON.parse(files["release.json"]) as { target: string; compose_files: string[]; public_ip?: string };
    assert.equal(release.target, "digitalocean");
    // The reserved IP is not on the droplet's interfaces: preflight's DNS check must know it.
    assert.equal(release.public_ip, "203.0.113.20");
    assert.ok(release.compose_files.includes("compose.do.yml"), `compose files: ${release.compose_files.join(", ")}`);
    const all = Object.values(files).join("\n");
    assert.ok(all.includes("private-db.db.ondigitalocean.com"), "PgBouncer points at the managed DB's private host");
    assert.ok(all.includes("ft-do-assets"), "the app's assets bucket");
    assert.ok(!SECRET_MARKERS.test(all), "no secret in the bundle");
  });

  it("the push: the shared steps against the reserved IP as root with the generated key, host key pinned, after cloud-init", () => {
    const steps = [...ofType(r, T.command), ...ofType(r, T.copy)].filter((x) => x.parent === "freshtrack:host:Deployment::host").map((x) => x.name);
    for (const s of HOST_STEPS) assert.ok(steps.includes(s), `step ${s} missing`);
    for (const step of [...ofType(r, T.command), ...ofType(r, T.copy)]) {
      const c = secretOf(step.inputs.connection) as Record<string, unknown>;
      assert.equal(c.host, "203.0.113.20", step.name);
      assert.equal(c.user, "root");
      assert.equal(c.port, 22);
      assert.match(c.privateKey as string, /RNDSECRETdeploykeyX/);
      assert.match(c.hostKey as string, /^ssh-ed25519 \S+droplethostkey/);
    }
    assert.match(one(r, T.command, "wait").inputs.create as string, / 'true' 'false'$/, "waits for cloud-init, as root without sudo");
  });

  it("project holds the droplet, database, both buckets and the reserved IP", () => {
    assert.equal(one(r, T.project).inputs.environment, "Production");
    const pr = one(r, T.projectResources);
    assert.equal(pr.inputs.project, "project-id");
    assert.deepEqual([...(pr.inputs.resources as string[])].sort(), [
      "do:dbaas:db-id",
      "do:droplet:droplet-id",
      "do:reservedip:203.0.113.20",
      "do:space:ft-do-assets",
      "do:space:ft-do-backups",
    ]);
  });

  it("alerts: droplet CPU/memory/disk and database CPU/memory/disk, to the operator's email and the webhook (secret)", () => {
    const alerts = ofType(r, T.alert);
    assert.deepEqual(alerts.map((a) => a.inputs.type).sort(), [
      "v1/dbaas/alerts/cpu_alerts",
      "v1/dbaas/alerts/disk_utilization_alerts",
      "v1/dbaas/alerts/memory_utilization_alerts",
      "v1/insights/droplet/cpu",
      "v1/insights/droplet/disk_utilization_percent",
      "v1/insights/droplet/memory_utilization_percent",
    ]);
    for (const a of alerts) {
      assert.deepEqual(a.inputs.entities, [String(a.inputs.type).includes("dbaas") ? "db-id" : "droplet-id"]);
      const to = secretOf(a.inputs.alerts) as { emails: string[]; slacks: { url: string }[] };
      assert.deepEqual(to.emails, ["ops@bakery-co.example"]);
      assert.equal(to.slacks[0].url, USER_SECRETS.alertWebhookUrl);
    }
    // Without a webhook the alerts are not secret and go to email only.
    const plainAlerts = ofType(mustPlan("do", MINIMAL), T.alert);
    assert.deepEqual(plainAlerts[0].inputs.alerts, { emails: ["ops@bakery-co.example"] });
  });

  it("external uptime check: DigitalOcean probes https://<domain>/health/ready from all four regions; down, latency and certificate alerts mail the operator", () => {
    const check = one(r, T.uptimeCheck);
    assert.equal(check.inputs.type, "https");
    assert.equal(check.inputs.target, "https://app.bakery-co.example/health/ready");
    assert.deepEqual([...(check.inputs.regions as string[])].sort(), ["eu_west", "se_asia", "us_east", "us_west"]);
    assert.equal(check.inputs.enabled, true);
    const alerts = ofType(r, T.uptimeAlert);
    assert.deepEqual(alerts.map((a) => a.inputs.type).sort(), ["down_global", "latency", "ssl_expiry"]);
    for (const a of alerts) {
      assert.equal(a.inputs.checkId, "uptime-id");
      const [to] = secretOf(a.inputs.notifications) as { emails: string[]; slacks: { url: string }[] }[];
      assert.deepEqual(to.emails, ["ops@bakery-co.example"]);
      assert.equal(to.slacks[0].url, USER_SECRETS.alertWebhookUrl);
    }
    assert.equal(alerts.find((a) => a.inputs.type === "down_global")?.inputs.period, "2m");
    assert.deepEqual(
      [alerts.find((a) => a.inputs.type === "ssl_expiry")?.inputs.threshold, alerts.find((a) => a.inputs.type === "ssl_expiry")?.inputs.comparison],
      [14, "less_than"],
    );
  });

  it("only operatorEmail set (no webhook, no user secrets): every monitoring and uptime alert mails operatorEmail, in plain inputs", () => {
    const plain = mustPlan("do", MINIMAL);
    const uptime = ofType(plain, T.uptimeAlert);
    assert.equal(uptime.length, 3);
    for (const a of uptime) assert.deepEqual(a.inputs.notifications, [{ emails: ["ops@bakery-co.example"] }], a.name);
    for (const a of ofType(plain, T.alert)) assert.deepEqual(a.inputs.alerts, { emails: ["ops@bakery-co.example"] }, a.name);
    // tlsMode internal: no certificate-expiry alert (Caddy's own CA is not publicly trusted).
    assert.deepEqual(
      ofType(mustPlan("do", { ...MINIMAL, tlsMode: "internal" }), T.uptimeAlert)
        .map((a) => a.inputs.type)
        .sort(),
      ["down_global", "latency"],
    );
  });

  it("sslmode: every connection to the managed database is verify-full against the cluster CA that getDatabaseCa returns", () => {
    const bundle = bundleOf(r);
    const ca = "-----BEGIN CERTIFICATE-----\nMOCKDOCLUSTERCA\n-----END CERTIFICATE-----\n";
    assert.equal(bundle["config/db-ca.crt"], ca);
    // PgBouncer (the app's pooled connections).
    assert.match(bundle["config/pgbouncer.ini"], /^server_tls_sslmode = verify-full$/m);
    assert.match(bundle["config/pgbouncer.ini"], /^server_tls_ca_file = \/etc\/pgbouncer\/db-ca.crt$/m);
    // db-setup and migrate: their URLs name the CA at the path compose.do.yml mounts it.
    const files = payloadOf(r);
    const direct = parseYaml(bundle["compose.do.yml"]) as { services: Record<string, { volumes?: string[]; environment?: Record<string, string> }> };
    for (const [svc, file] of [
      ["db-setup", "db-setup/ADMIN_DATABASE_URL"],
      ["migrate", "migrate/DATABASE_URL"],
    ]) {
      const url = new URL(files[file].content);
      assert.equal(url.searchParams.get("sslmode"), "verify-full", file);
      const mount = `./config/db-ca.crt:${url.searchParams.get("sslrootcert")}:ro`;
      assert.ok(direct.services[svc].volumes?.includes(mount), `${svc} mounts ${mount}`);
    }
    assert.equal(direct.services["db-setup"].environment?.PGSSLMODE, "verify-full");
    // bin/backup, bin/restore, preflight and the move commands (lib/db.sh ft_db_connection): release.json's database.
    const release = JSON.parse(bundle["release.json"]) as { database: { sslmode: string; sslrootcert: string } };
    assert.equal(release.database.sslmode, "verify-full");
    assert.equal(bundle[release.database.sslrootcert], ca);
    // No connection string anywhere still asks for less.
    for (const [p, f] of Object.entries(files)) assert.ok(!/sslmode=(require|prefer|allow|disable|no-verify)/.test(f.content), p);
  });

  it("no secret value in any unmarked input, anywhere in the stack", () => {
    const leaks = r.resources.flatMap((x) =>
      unmarkedStrings(x.inputs)
        .filter((s) => SECRET_MARKERS.test(s.value))
        .map((s) => `${x.type}::${x.name} ${s.path}`),
    );
    assert.deepEqual(leaks, []);
    for (const [k, v] of Object.entries(r.outputs)) assert.ok(!SECRET_MARKERS.test(JSON.stringify(v)), `output ${k} leaks a secret`);
  });

  it("the lasting secrets are the same resources (type, name, no parent) as in the vm stack", () => {
    const lasting = Object.values(LASTING_SECRET_NAMES) as string[];
    const identity = (p: PlanResult) =>
      p.resources
        .filter((x) => lasting.includes(x.name))
        .map((x) => ({ type: x.type, name: x.name, parent: x.parent ?? null, protect: x.options.protect ?? false }))
        .sort((a, b) => a.name.localeCompare(b.name));
    const mine = identity(r);
    assert.equal(mine.length, lasting.length);
    assert.deepEqual(mine, identity(mustPlan("vm")));
  });
});

describe("stacks/do: the placement guard refuses a region change before any regional resource", () => {
  // The stack was "created" in ams3 (the guard's recorded keepers, as the engine
  // would return them from state); config says fra1. Runs the real program under
  // mocks in its own process, with the recorded state injected through outputsFor.
  const script = `
    const { runProgram } = require("./scripts/lib/program");
    const registered = [];
    runProgram({ stack: "do", outputsFor: (type, name) => {
      registered.push(type + "::" + name);
      return type === "random:index/randomId:RandomId" && name === "do-placement" ? { keepers: { region: "ams3" } } : undefined;
    } }).then(
      () => { console.log(JSON.stringify({ ok: true, registered })); },
      (e) => { console.log(JSON.stringify({ ok: false, registered, message: String(e && e.message) })); process.exit(1); },
    );`;
  let out: { ok: boolean; registered: string[]; message?: string };
  before(() => {
    const p = runInChild({ script });
    out = JSON.parse(p.stdout.trim().split("\n").pop() ?? "{}") as typeof out;
  });

  it("fails with the reason and the fix", () => {
    assert.equal(out.ok, false);
    assert.match(out.message ?? "", /created in "ams3", config now says "fra1"/);
    assert.match(out.message ?? "", /Fix: pulumi config set doRegion ams3/);
  });

  it("declares no VPC, database, droplet, bucket or reserved IP", () => {
    const regional = [T.vpc, T.db, T.droplet, T.bucket, T.reservedIp, T.cors];
    assert.ok(out.registered.includes(`${T.placement}::do-placement`), "the guard itself was read");
    assert.deepEqual(
      out.registered.filter((k) => regional.some((t) => k.startsWith(`${t}::`))),
      [],
    );
  });
});

/**
 * The do stack in its own process with what the default mocks cannot show: a
 * droplet id as after a rebuild, and a RandomPassword whose value follows its
 * generation keeper, as the real provider's replacement does.
 */
function runDo(opts: { dropletId?: string; set?: Record<string, unknown> } = {}): PlanResult {
  const script = `
    const { runProgram } = require("./scripts/lib/program");
    const o = JSON.parse(process.env.FT_TEST_RUN);
    runProgram({
      stack: "do",
      set: o.set,
      idFor: (type, name) => (o.dropletId && type === "digitalocean:index/droplet:Droplet" && name === "droplet" ? o.dropletId : undefined),
      outputsFor: (type, name, inputs) =>
        type === "random:index/randomPassword:RandomPassword" && inputs.keepers && inputs.keepers.generation
          ? { result: "RNDSECRET" + name.replace(/[^A-Za-z0-9]/g, "") + "gen" + inputs.keepers.generation + "X" }
          : undefined,
    }).then(
      (r) => { console.log(JSON.stringify(r)); },
      (e) => { console.error(String(e && e.stack)); process.exit(1); },
    );`;
  const p = runInChild({ script, env: { FT_TEST_RUN: JSON.stringify(opts) } });
  assert.equal(p.status, 0, p.stderr);
  return JSON.parse(p.stdout) as PlanResult;
}

describe("stacks/do: dbPasswordGeneration rotates the app database password on digitalocean too", () => {
  let gen1: PlanResult;
  let gen2: PlanResult;
  before(() => {
    gen1 = runDo();
    gen2 = runDo({ set: { dbPasswordGeneration: 2 } });
  });

  it("the bump reaches db-setup, migrate, the app's pooled URL, PgBouncer's userlist and the backup's pgpass", () => {
    const [a, b] = [payloadOf(gen1), payloadOf(gen2)];
    const [pw1, pw2] = ["RNDSECRETdbapppasswordgen1X", "RNDSECRETdbapppasswordgen2X"];
    for (const [files, pw, other] of [
      [a, pw1, pw2],
      [b, pw2, pw1],
    ] as const) {
      assert.equal(files["db-setup/APP_DB_PASSWORD"].content, pw);
      for (const f of ["app/DATABASE_URL", "migrate/DATABASE_URL", "pgbouncer/userlist.txt", "backup/pgpass"]) {
        assert.ok(files[f].content.includes(pw), `${f} carries the current password`);
        assert.ok(!files[f].content.includes(other), `${f} carries no other generation`);
      }
    }
  });

  it("so the push re-runs write-secrets, preflight and deploy (whose db-setup + PgBouncer reload rotate without loss)", () => {
    const steps = (r: PlanResult) => byKey(deployResources(r));
    const [a, b] = [steps(gen1), steps(gen2)];
    const changed = Object.keys(a)
      .filter((k) => JSON.stringify(a[k].inputs) !== JSON.stringify(b[k].inputs))
      .map((k) => k.split("::")[1])
      .sort();
    assert.deepEqual(changed, ["deploy", "preflight", "write-secrets"]);
  });
});

describe("stacks/do: a rebuilt droplet (new id, same reserved IP and host key) gets every push step again, in order", () => {
  // The same stack twice, in two processes; the second time the provider returns a
  // new id for the droplet, as after `pulumi up --replace <droplet>`.
  const runWithDropletId = (dropletId?: string): PlanResult => runDo({ dropletId });
  let original: PlanResult;
  let rebuilt: PlanResult;
  before(() => {
    original = runWithDropletId();
    rebuilt = runWithDropletId("droplet-rebuilt-id");
  });
  const stepsOf = (r: PlanResult) =>
    Object.fromEntries(
      r.resources.filter((x) => x.type.startsWith("command:remote:") && x.parent === "freshtrack:host:Deployment::host").map((x) => [x.name, x]),
    );

  it("the rebuild keeps the reserved IP and host key: the connection alone would not notice", () => {
    assert.equal(one(rebuilt, T.droplet).inputs.name, one(original, T.droplet).inputs.name);
    for (const step of HOST_STEPS) assert.deepEqual(stepsOf(rebuilt)[step].inputs.connection, stepsOf(original)[step].inputs.connection, step);
  });

  it("every push step (and the teardown owner) has the droplet id in its triggers, so each one is replaced", () => {
    const a = stepsOf(original);
    const b = stepsOf(rebuilt);
    for (const step of [...HOST_STEPS, HOST_TEARDOWN_STEP]) {
      assert.ok(a[step] && b[step], `step ${step} missing`);
      assert.ok((a[step].inputs.triggers as unknown[]).includes("droplet-id"), `${step}: triggers ${JSON.stringify(a[step].inputs.triggers)}`);
      assert.ok((b[step].inputs.triggers as unknown[]).includes("droplet-rebuilt-id"), `${step}: triggers ${JSON.stringify(b[step].inputs.triggers)}`);
    }
    // The old teardown's delete must find a newer owner token on the new droplet and stop nothing.
    assert.notEqual(b[HOST_TEARDOWN_STEP].inputs.create, a[HOST_TEARDOWN_STEP].inputs.create);
  });

  it("the replaced steps still run in order: wait -> bootstrap -> copy -> unpack -> secrets -> preflight -> deploy", () => {
    const b = stepsOf(rebuilt);
    HOST_STEPS.forEach((step, i) => {
      const deps = b[step].options.dependsOn ?? [];
      if (i === 0) assert.deepEqual(deps, [], step);
      else
        assert.ok(
          deps.some((d) => d.endsWith(`::${HOST_STEPS[i - 1]}`)),
          `${step} depends on ${HOST_STEPS[i - 1]}: ${deps.join(", ")}`,
        );
    });
    assert.ok((b[HOST_TEARDOWN_STEP].options.dependsOn ?? []).some((d) => d.endsWith("::bootstrap")));
  });
});
