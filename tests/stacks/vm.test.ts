// The vm stack under mocks: the push's resource chain, pinned host keys,
// secrets only on stdin (logging none), and triggers that re-run exactly the
// steps a change needs. Secrets get recognisable values and are searched for
// by value wherever they must not be.
import { strict as assert } from "assert";
import { HOST_STEPS, HOST_TEARDOWN_STEP, dialBudgetSeconds, parseSecretPayload, secretPayloadDigest } from "../../components/shared/host";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { USER_SECRET_KEYS } from "../../core/config";
import { LASTING_SECRET_NAMES } from "../../components/shared/secrets";
import { dummyPassword, dummySecret, PlanResult, PlannedResource } from "../../scripts/lib/program";
import { parse } from "yaml";
import { mustPlan, unmarkedStrings } from "../helpers/plan";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq0Yq3mR5m6m0qS5hD9l0b2mE1bqQ1w7zK3p0nq7x8Y"; // Pulumi.vm.yaml
const userSecret = (k: string) => (k === "alertWebhookUrl" ? `https://hooks.example/LEAK${k}Q` : `LEAK${k}Q`);
const USER_SECRETS: Record<string, string> = Object.fromEntries(USER_SECRET_KEYS.filter((k) => k !== "vmSshPrivateKey").map((k) => [k, userSecret(k)]));
/** Every secret value the stack knows: config secrets, the SSH key, and the generated passwords. */
const SECRET_VALUES = [
  ...Object.values(USER_SECRETS).map((v) => v.replace(/^https:\/\/hooks\.example\//, "")),
  dummySecret("vmSshPrivateKey"),
  ...Object.values(LASTING_SECRET_NAMES).map(dummyPassword),
];

const base = () => mustPlan("vm", {}, USER_SECRETS);
const remote = (r: PlanResult) => r.resources.filter((x) => x.type.startsWith("command:remote:"));
const byName = (r: PlanResult, name: string): PlannedResource => {
  const found = remote(r).filter((x) => x.name === name);
  assert.equal(found.length, 1, `one ${name}`);
  return found[0];
};
const unwrap = (v: unknown): Record<string, unknown> => {
  const o = v as Record<string, unknown>;
  return (o && "$secret" in o ? o.$secret : o) as Record<string, unknown>;
};
const same = (a: PlanResult, b: PlanResult, name: string) => JSON.stringify(byName(a, name).inputs) === JSON.stringify(byName(b, name).inputs);
const key = (x: PlannedResource) => `${x.type}::${x.name}`;

describe("vm stack: the push chain", () => {
  it("declares the steps as command:remote:* resources, each depending on the previous one", () => {
    const r = base();
    const steps = HOST_STEPS.map((s) => byName(r, s));
    assert.deepEqual(steps[0].options.dependsOn ?? [], []);
    for (let i = 1; i < steps.length; i++) assert.deepEqual(steps[i].options.dependsOn, [key(steps[i - 1])], steps[i].name);
    assert.equal(byName(r, "copy-bundle").type, "command:remote:CopyToRemote");
    for (const s of steps) assert.equal(s.parent, "freshtrack:host:Deployment::host", s.name);
    assert.deepEqual(
      remote(r)
        .map((x) => x.name)
        .sort(),
      [...HOST_STEPS, HOST_TEARDOWN_STEP].sort(),
      "no other remote resource",
    );
  });
  it("teardown: armed after bootstrap; its delete stops the services but keeps data unless purgeOnDelete", () => {
    const t = byName(base(), HOST_TEARDOWN_STEP);
    assert.deepEqual(t.options.dependsOn, ["command:remote:Command::bootstrap"]);
    assert.match(String(t.inputs.delete), /'teardown' 'run' '\/opt\/freshtrack' '[0-9a-f]{16}' 'false'$/);
    assert.match(String(t.inputs.create), /'teardown' 'arm' /);
    const purge = byName(mustPlan("vm", { vmPurgeOnDelete: true }, USER_SECRETS), HOST_TEARDOWN_STEP);
    assert.match(String(purge.inputs.delete), /'true'$/);
    // The deploy steps never carry a delete: a replacement (new key, new trigger) must not stop anything.
    for (const s of HOST_STEPS) assert.equal(byName(base(), s).inputs.delete, undefined, s);
  });
  it("every connection pins the host key, keeps the private key secret and bounds the dial", () => {
    const [refused, blackholed] = dialBudgetSeconds();
    assert.ok(refused >= 180 && blackholed <= 15 * 60, `dial budget ${refused}s..${blackholed}s`);
    for (const x of remote(base())) {
      const c = unwrap(x.inputs.connection);
      assert.equal(c.hostKey, HOST_KEY, x.name);
      // The key is secret: either the whole connection or the key itself is wrapped.
      const wrapped = "$secret" in (x.inputs.connection as object) ? c.privateKey : (c.privateKey as { $secret?: unknown }).$secret;
      assert.equal(wrapped, dummySecret("vmSshPrivateKey"), `${x.name}: private key secret`);
      assert.equal(typeof c.dialErrorLimit, "number", x.name);
      assert.ok((c.dialErrorLimit as number) > 10, `${x.name}: waits longer than the default 10 dials`);
      assert.equal(typeof c.perDialTimeout, "number", x.name);
      assert.equal(c.host, "203.0.113.10");
    }
  });
  it("outputs: url, host, database and A records for the domain and s3.<domain>", () => {
    const o = base().outputs;
    assert.equal(o.url, "https://freshtrack.acme-foods.example");
    assert.equal(o.hostAddress, "203.0.113.10");
    assert.equal(o.databaseEndpoint, "postgres (on host, via pgbouncer)");
    const recs = o.dnsRecords as { type: string; name: string; value: string; purpose: string }[];
    assert.deepEqual(
      recs.map((d) => [d.type, d.name, d.value]),
      [
        ["A", "freshtrack.acme-foods.example", "203.0.113.10"],
        ["A", "s3.freshtrack.acme-foods.example", "203.0.113.10"],
      ],
    );
    for (const d of recs) assert.ok(d.purpose.length > 10);
  });
});

describe("vm stack: secrets", () => {
  it("no secret value appears outside a secret wrapper: commands, environment, triggers, copied files, outputs", () => {
    const r = base();
    const leaks: string[] = [];
    for (const x of r.resources) {
      for (const s of unmarkedStrings(x.inputs)) for (const v of SECRET_VALUES) if (s.value.includes(v)) leaks.push(`${x.type} ${x.name} ${s.path} has ${v}`);
    }
    for (const s of unmarkedStrings(r.outputs)) for (const v of SECRET_VALUES) if (s.value.includes(v)) leaks.push(`output ${s.path} has ${v}`);
    assert.deepEqual(leaks, []);
    // The search must be able to find something: the payload does hold them (base64).
    const files = parseSecretPayload(unwrap({ $secret: (byName(r, "write-secrets").inputs.stdin as { $secret: string }).$secret }) as unknown as string);
    assert.equal(files["app/STRIPE_SECRET_KEY"].content, USER_SECRETS.stripeSecretKey);
    assert.equal(files["app/JWT_SECRET"].content, dummyPassword("jwt-secret"));
    assert.ok(files["app/DATABASE_URL"].content.includes(dummyPassword("db-app-password")));
  });
  it("the copied bundle (one StringAsset payload) holds no secret and lands in releases/<bundle-hash>.bundle", () => {
    const copy = byName(base(), "copy-bundle");
    const src = copy.inputs.source as { $asset?: string; $archive?: unknown };
    assert.equal(typeof src.$asset, "string", "a StringAsset: @pulumi/command 1.2.x cannot copy an AssetArchive");
    assert.equal(src.$archive, undefined);
    const files = copiedFiles(src);
    assert.ok(Object.keys(files).includes("release.json"), "the payload holds the bundle's files");
    for (const v of SECRET_VALUES) assert.ok(!src.$asset!.includes(v) && !Object.values(files).some((c) => c.includes(v)), `bundle has ${v}`);
    assert.match(String(copy.inputs.remotePath), /^\/opt\/freshtrack\/releases\/[0-9a-f]{16}\.bundle$/);
    const unpack = byName(base(), "unpack-bundle");
    assert.ok(
      String(unpack.inputs.create).includes(String(copy.inputs.remotePath).replace(/^.*\/([0-9a-f]{16})\.bundle$/, "$1")),
      "unpack-bundle unpacks that payload",
    );
  });
  it("every secret file the release lists (release.json .secrets) is written by the push", () => {
    const r = base();
    const bundleFiles = copiedFiles(byName(r, "copy-bundle").inputs.source);
    const release = JSON.parse(bundleFiles["release.json"]) as { secrets?: Record<string, string[]> };
    const pushed = parseSecretPayload((byName(r, "write-secrets").inputs.stdin as { $secret: string }).$secret);
    const listed = [...new Set(Object.values(release.secrets ?? {}).flat())].sort();
    assert.ok(listed.length > 0, "release.json lists the secrets its services read");
    assert.deepEqual(
      listed.filter((f) => !(f in pushed)),
      [],
    );
  });
  it("write-secrets writes the payload as generation <payload digest>; preflight and deploy run with FT_SECRETS_GENERATION set to it", () => {
    const r = base();
    const w = byName(r, "write-secrets");
    const gen = secretPayloadDigest((w.inputs.stdin as { $secret: string }).$secret);
    // scriptCommand quotes each argument: APP_DIR then the generation.
    assert.ok(String(w.inputs.create).endsWith(` 'write-secrets' '/opt/freshtrack' '${gen}'`), String(w.inputs.create).slice(-120));
    for (const step of ["preflight", "deploy"]) {
      const cmd = String(byName(r, step).inputs.create);
      assert.match(cmd, /FT_SECRETS_GENERATION=\$gen exec /, step);
      assert.ok(cmd.includes(` '${gen}'`), `${step} passes the generation`);
    }
  });
  it("secret files go through stdin of write-secrets with logging none, never the command line", () => {
    const w = byName(base(), "write-secrets");
    assert.equal(w.inputs.logging, "none");
    assert.ok(w.inputs.stdin && typeof w.inputs.stdin === "object" && "$secret" in (w.inputs.stdin as object), "stdin is a secret");
    assert.equal(w.inputs.environment, undefined);
    for (const out of ["stdin", "stdout", "stderr"]) assert.ok(w.options.additionalSecretOutputs?.includes(out), `${out} is a secret output`);
    for (const x of remote(base())) {
      if (x.name !== "write-secrets") assert.equal(x.inputs.stdin, undefined, `${x.name} takes no stdin`);
      if (x.type === "command:remote:Command") assert.notEqual(x.inputs.logging, undefined, `${x.name}: logging is explicit`);
    }
  });
});

describe("vm stack: alerts reach the operator", () => {
  it("only operatorEmail (+ the app's resendApiKey) set: Alertmanager mails every alert to operatorEmail through Resend; the key is only in the secret file", () => {
    const r = mustPlan("vm", {}, { resendApiKey: "re_LEAKresendQ" });
    const bundle = copiedFiles(byName(r, "copy-bundle").inputs.source);
    const am = parse(bundle["config/alertmanager.yml"]) as {
      route: { receiver: string; routes: { matchers: string[]; receiver: string }[] };
      receivers: { name: string; email_configs?: Record<string, unknown>[] }[];
    };
    assert.equal(am.route.receiver, "operator");
    assert.deepEqual(
      am.route.routes.map((x) => [x.matchers.join(","), x.receiver]),
      [
        ['alertname="Watchdog"', "heartbeat"],
        // The on-host-only backups reminder: its own route only for its daily repeat.
        ['alertname="FreshtrackBackupsOnHostOnly"', "operator"],
        ['severity="critical"', "operator"],
      ],
    );
    const operator = am.receivers.find((x) => x.name === "operator");
    assert.deepEqual(
      operator?.email_configs?.map((e) => [e.to, e.smarthost, e.auth_username, e.auth_password_file]),
      [["ops@acme-foods.example", "smtp.resend.com:587", "resend", "/run/secrets/alertmanager_smtp_password"]],
    );
    assert.ok(!Object.values(bundle).some((f) => f.includes("LEAKresend")), "the Resend key is in no bundle file");
    const pushed = parseSecretPayload((byName(r, "write-secrets").inputs.stdin as { $secret: string }).$secret);
    assert.deepEqual(pushed["alertmanager/smtp_password"], { uid: 65534, content: "re_LEAKresendQ" });
  });
});

describe("vm stack: least privilege on the host", () => {
  it("no container mounts the Docker socket read-write or runs as root with it; Alloy has neither the socket nor root", () => {
    const bundle = copiedFiles(byName(base(), "copy-bundle").inputs.source);
    const release = JSON.parse(bundle["release.json"]) as { compose_files: string[] };
    type Svc = { user?: string; volumes?: (string | { source?: string; target?: string; read_only?: boolean })[] };
    const services: [string, Svc][] = release.compose_files.flatMap((f) =>
      Object.entries((parse(bundle[f]) as { services?: Record<string, Svc> }).services ?? {}),
    );
    assert.ok(
      services.some(([n]) => n === "alloy"),
      "the observability profile is in the bundle",
    );
    const socketHolders: string[] = [];
    for (const [name, svc] of services) {
      for (const v of svc.volumes ?? []) {
        const [src, , mode = ""] = typeof v === "string" ? v.split(":") : [v.source ?? "", v.target ?? "", v.read_only ? "ro" : ""];
        if (!/docker\.sock$/.test(src)) continue;
        socketHolders.push(name);
        assert.ok(mode.split(",").includes("ro"), `${name} mounts the Docker socket read-write`);
        const [uid, gid] = String(svc.user ?? "0").split(":");
        assert.ok(svc.user && uid !== "0" && uid !== "root" && gid !== "0", `${name} holds the Docker socket as root (user ${svc.user})`);
      }
    }
    assert.deepEqual(socketHolders, ["docker-socket-proxy"]);
    const alloy = services.find(([n]) => n === "alloy")![1];
    assert.equal(alloy.user, "65534:65534");
    assert.ok(!(alloy.volumes ?? []).some((v) => String(v).startsWith("/var/lib/docker:")), "alloy mounts all of /var/lib/docker");
  });
});

describe("vm stack: what re-runs on a change", () => {
  const names = [...HOST_STEPS, HOST_TEARDOWN_STEP];
  const changed = (a: PlanResult, b: PlanResult) => names.filter((n) => !same(a, b, n));

  it("changing nothing changes nothing (two runs, every resource's inputs byte for byte)", () => {
    const a = base();
    const b = mustPlan("vm", { logLevel: "info" }, USER_SECRETS); // default value: a separate run, same config
    assert.equal(JSON.stringify(b.resources.map((x) => [key(x), x.inputs, x.options])), JSON.stringify(a.resources.map((x) => [key(x), x.inputs, x.options])));
    assert.equal(JSON.stringify(b.outputs), JSON.stringify(a.outputs));
  });
  it("a new image tag re-copies and redeploys; wait, bootstrap and secrets stay", () => {
    const b = mustPlan("vm", { backendImage: "ghcr.io/frostguard/frostguard-backend:1.8.3" }, USER_SECRETS);
    assert.deepEqual(changed(base(), b), ["copy-bundle", "unpack-bundle", "preflight", "deploy"]);
    assert.notDeepEqual(byName(b, "deploy").inputs.triggers, byName(base(), "deploy").inputs.triggers);
  });
  it("rotating a user secret rewrites secrets and redeploys, without re-copying the bundle", () => {
    const b = mustPlan("vm", {}, { ...USER_SECRETS, stripeSecretKey: "LEAKstripeSecretKeyROTATEDQ" });
    assert.deepEqual(changed(base(), b), ["write-secrets", "preflight", "deploy"]);
  });
  it("dbPasswordGeneration bump changes only the db-app-password keepers among the lasting secrets", () => {
    const a = base();
    const b = mustPlan("vm", { dbPasswordGeneration: 2 }, USER_SECRETS);
    const keepers = (r: PlanResult) => r.resources.find((x) => x.name === "db-app-password")?.inputs.keepers;
    assert.deepEqual(keepers(a), { generation: "1" });
    assert.deepEqual(keepers(b), { generation: "2" });
    // Under mocks the new password has the same dummy value, so only the keeper shows the rotation;
    // the bundle, the host steps and the other lasting secrets are untouched by the bump itself.
    assert.deepEqual(
      a.resources
        .filter((x) => x.type.startsWith("random:") && JSON.stringify(x.inputs) !== JSON.stringify(b.resources.find((y) => key(y) === key(x))?.inputs))
        .map((x) => x.name),
      ["db-app-password"],
    );
  });
});
