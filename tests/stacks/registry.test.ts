// Private registry credentials under mocks, tested by value: the token gets a
// recognisable dummy and is searched for (as itself and inside the base64 `auth`
// Docker stores) in every command string, environment, copied file, compose file,
// user_data and task definition: it may only appear inside a secret.
import { strict as assert } from "assert";
import { ConfigError, parseConfig } from "../../core/config";
import { REGISTRY_CONFIG_FILE, parseSecretPayload } from "../../components/shared/host";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { PlanResult, PlannedResource } from "../../scripts/lib/program";
import { mustPlan, ofType, one, unmarkedStrings } from "../helpers/plan";

const TOKEN = "REGTOKENdummy0123456789X";
const USER = "frostguard-deploy";
const SERVER = "ghcr.io";
const AUTH_B64 = Buffer.from(`${USER}:${TOKEN}`).toString("base64");
const SET = { registryServer: SERVER, registryUser: USER };
const SECRET = { registryToken: TOKEN };

/** Every place the token could leak to, as text: nothing outside a {"$secret"} wrapper may hold it. */
function assertNoLeak(r: PlanResult, where: string) {
  for (const res of r.resources) {
    for (const s of unmarkedStrings(res.inputs)) {
      for (const needle of [TOKEN, AUTH_B64])
        assert.ok(!s.value.includes(needle), `${where}: ${res.type}::${res.name} ${s.path} holds the registry token in the clear`);
    }
  }
  for (const [k, v] of Object.entries(r.outputs))
    assert.ok(!JSON.stringify(v).includes(TOKEN) || JSON.stringify(v).startsWith('{"$secret"'), `${where}: output ${k}`);
}

/** The write-secrets payload (stdin, secret) as files. */
function secretFiles(r: PlanResult) {
  const step = r.resources.find((x) => x.type === "command:remote:Command" && x.name === "write-secrets") as PlannedResource;
  const stdin = step.inputs.stdin as { $secret: string };
  assert.ok(stdin && typeof stdin.$secret === "string", "the payload is a secret");
  assert.equal(step.inputs.logging, "none");
  return parseSecretPayload(stdin.$secret);
}

function bundle(r: PlanResult): Record<string, string> {
  return copiedFiles(one(r, "command:remote:CopyToRemote").inputs.source);
}

describe("stacks: private registry credentials", () => {
  const stacks: [string, Record<string, string[]>][] = [
    ["vm", {}],
    ["do", { doSshCidrs: ["198.51.100.7/32"] }],
  ];
  for (const [stack, extra] of stacks) {
    it(`${stack}: the host gets a 0600 root-only Docker config through write-secrets' stdin, and nothing else holds the token`, () => {
      const r = mustPlan(stack, { ...extra, ...SET }, SECRET);
      const files = secretFiles(r);
      const cfg = files[REGISTRY_CONFIG_FILE];
      assert.ok(cfg, `${REGISTRY_CONFIG_FILE} is pushed`);
      assert.equal(cfg.uid, 0, "owned by root (write-secrets makes it 0600 in a 0700 directory)");
      assert.deepEqual(JSON.parse(cfg.content), { auths: { [SERVER]: { auth: AUTH_B64 } } });
      // Not mounted into any container: no service lists it.
      const release = JSON.parse(bundle(r)["release.json"]) as { secrets: Record<string, string[]> };
      for (const [svc, list] of Object.entries(release.secrets)) assert.ok(!list.includes(REGISTRY_CONFIG_FILE), `${svc} does not read the registry login`);
      for (const [name, text] of Object.entries(bundle(r))) assert.ok(!text.includes(TOKEN) && !text.includes(AUTH_B64), `bundle file ${name}`);
      // The digest lookups authenticate with the same login; the token stays secret there too.
      const provider = one(r, "pulumi:providers:docker");
      assert.match(JSON.stringify(provider.inputs.registryAuth), /\$secret/);
      assertNoLeak(r, stack);
    });
  }

  it("vm without a registry login: no registry file, the lookups go unauthenticated", () => {
    // Pulumi.vm.yaml's example customer has a login: unset all three.
    const r = mustPlan("vm", { registryServer: "", registryUser: "", registryToken: "" });
    assert.equal(secretFiles(r)[REGISTRY_CONFIG_FILE], undefined);
    assert.equal(one(r, "pulumi:providers:docker").inputs.registryAuth, undefined);
  });

  it("aws: a Secrets Manager secret {username,password}; repositoryCredentials on every container pulled from the registry, none elsewhere", () => {
    // The example AWS customer pulls from ECR (the execution role's own access): move the app to the private registry.
    const ghcr = Object.fromEntries(["backend", "worker", "frontend"].map((n) => [`${n}Image`, `${SERVER}/frostguard/frostguard-${n}:1.8.2`]));
    const r = mustPlan("aws", { ...SET, ...ghcr }, SECRET);
    const version = one(r, "aws:secretsmanager/secretVersion:SecretVersion", "registry-credentials");
    const value = (version.inputs.secretString as { $secret: string }).$secret;
    assert.deepEqual(JSON.parse(value), { username: USER, password: TOKEN });
    const arn = "arn:aws:mock:us-east-1:123456789012:registry-credentials";
    let withCreds = 0;
    for (const td of ofType(r, "aws:ecs/taskDefinition:TaskDefinition")) {
      for (const c of JSON.parse(td.inputs.containerDefinitions as string) as {
        name: string;
        image: string;
        repositoryCredentials?: { credentialsParameter: string };
      }[]) {
        if (c.image.startsWith(`${SERVER}/`)) {
          assert.deepEqual(c.repositoryCredentials, { credentialsParameter: arn }, `${td.name}/${c.name}`);
          withCreds++;
        } else assert.equal(c.repositoryCredentials, undefined, `${td.name}/${c.name} (${c.image}) is not on ${SERVER}`);
      }
      // The execution role of a family that pulls from the registry may read the login, and only those.
      const policy = one(r, "aws:iam/rolePolicy:RolePolicy", `exec-${td.name}`).inputs.policy as string;
      const pulls = (JSON.parse(td.inputs.containerDefinitions as string) as { image: string }[]).some((c) => c.image.startsWith(`${SERVER}/`));
      assert.equal(policy.includes(arn), pulls, `exec-${td.name} policy`);
    }
    assert.ok(withCreds >= 4, `backend, worker, frontend, migrate (and their init containers) use the login: ${withCreds}`);
    assertNoLeak(r, "aws");
  });

  it("aws without a login: no registry secret, no repositoryCredentials", () => {
    const r = mustPlan("aws");
    assert.equal(ofType(r, "aws:secretsmanager/secret:Secret").filter((s) => s.name === "registry-credentials").length, 0);
    for (const td of ofType(r, "aws:ecs/taskDefinition:TaskDefinition")) assert.doesNotMatch(td.inputs.containerDefinitions as string, /repositoryCredentials/);
  });

  it("config: a half-configured login is refused before any resource, naming the missing key", () => {
    const base = {
      domain: "app.example.test",
      operatorEmail: "ops@example.test",
      backendImage: "ghcr.io/o/b:1",
      workerImage: "ghcr.io/o/w:1",
      frontendImage: "ghcr.io/o/f:1",
      stackAuthProjectId: "p",
      vmHost: "203.0.113.10",
      vmHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq0Yq3mR5m6m0qS5hD9l0b2mE1bqQ1w7zK3p0nq7x8Y",
      vmSshPrivateKey: "k",
      vmBackupOnHostOnly: "true",
    };
    const secrets = new Set(["vmSshPrivateKey", "registryToken"]);
    const problems = (raw: Record<string, string>, s = secrets) => {
      try {
        parseConfig({ ...base, ...raw }, s);
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => p.key);
      }
    };
    assert.deepEqual(problems({ registryServer: SERVER, registryUser: USER, registryToken: TOKEN }), []);
    assert.deepEqual(problems({ registryToken: TOKEN }), ["registryServer", "registryUser"]);
    assert.deepEqual(problems({ registryServer: SERVER, registryUser: USER }), ["registryToken"]);
    assert.deepEqual(problems({ registryServer: "https://ghcr.io/x", registryUser: USER, registryToken: TOKEN }), ["registryServer"]);
    // A token in plain text is refused like every other credential.
    assert.deepEqual(problems({ registryServer: SERVER, registryUser: USER, registryToken: TOKEN }, new Set(["vmSshPrivateKey"])), ["registryToken"]);
  });
});
