// The droplet's user_data, rendered by a pure function: valid cloud-config,
// bootstrap only, the pinned host key, hardened sshd, nothing per release.
import { strict as assert } from "assert";
import { parse } from "yaml";
import {
  CloudInitInput,
  DOCKER_DAEMON,
  DOCKER_METADATA_DROPIN,
  SSHD_DEPLOY_USER_FORWARDING,
  SSHD_HARDENING,
  renderCloudInit,
} from "../../components/digitalocean/cloud-init";
import { cloudConfigSchemaErrors } from "../helpers/cloud-init-schema";
import { dropletBootstrap } from "../../components/digitalocean/push";
import { bootstrapArgs, hostScript } from "../../components/shared/host";
import type { DoSettings } from "../../core/config";

const HOST_PRIV = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHost";
const DEPLOY_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployDeployDeployDeployDeployDeployDe comment@x";

const input = (over: Partial<CloudInitInput> = {}): CloudInitInput => ({
  deployUser: "deploy",
  deployAuthorizedKeys: [DEPLOY_PUB],
  hostKey: { privateKeyOpenssh: HOST_PRIV, publicKeyOpenssh: `${HOST_PUB} \n` },
  bootstrap: { script: "#!/usr/bin/env bash\necho 'it''s \"quoted\"' $1\n", args: ["/opt/freshtrack", "false", "22", "root", "deploy"] },
  ...over,
});

interface Doc {
  ssh_deletekeys: boolean;
  ssh_genkeytypes: string[];
  ssh_keys: { ed25519_private: string; ed25519_public: string };
  disable_root: boolean;
  ssh_pwauth: boolean;
  users: (string | { name: string; groups: string[]; lock_passwd: boolean; ssh_authorized_keys: string[] })[];
  write_files: { path: string; permissions: string; content: string }[];
  runcmd: string[][];
}
const doc = (text: string): Doc => {
  assert.match(text, /^#cloud-config\n/);
  return parse(text) as Doc;
};

describe("digitalocean cloud-init", () => {
  it("is a #cloud-config YAML document that installs exactly the pinned ed25519 host key", () => {
    const d = doc(renderCloudInit(input()));
    assert.equal(d.ssh_deletekeys, true);
    // ssh_keys given: cloud-init generates nothing; the one type listed is the one we pin.
    assert.deepEqual(d.ssh_genkeytypes, ["ed25519"], "sshd must not generate keys the push does not know");
    assert.equal(d.ssh_keys.ed25519_private, HOST_PRIV);
    assert.equal(d.ssh_keys.ed25519_public, HOST_PUB, "one line, no trailing blank");
    assert.deepEqual(Object.keys(d.ssh_keys).sort(), ["ed25519_private", "ed25519_public"]);
  });

  it("passes cloud-init's own published JSON schema (vendored, cloud-init 25.1.4), with the real bootstrap script", () => {
    const real = renderCloudInit(
      input({ bootstrap: { script: hostScript("bootstrap"), args: bootstrapArgs(dropletBootstrap({ appDir: "/opt/freshtrack" } as DoSettings, "deploy")) } }),
    );
    assert.deepEqual(cloudConfigSchemaErrors(real), []);
    // The check can fail: the empty ssh_genkeytypes we used to render violates minItems 1.
    const broken = real.replace("ssh_genkeytypes:\n  - ed25519\n", "ssh_genkeytypes: []\n");
    assert.notEqual(broken, real);
    assert.deepEqual(cloudConfigSchemaErrors(broken), ['.ssh_genkeytypes: should NOT have fewer than 1 items {"limit":1}']);
    assert.match(cloudConfigSchemaErrors(real + "ssh_pwauth_typo: true\n").join("\n"), /additional properties/);
  });

  it("hardens sshd: keys only, root by key only, no forwarding, only the pinned host key", () => {
    const d = doc(renderCloudInit(input()));
    assert.equal(d.ssh_pwauth, false);
    assert.equal(d.disable_root, false, "the push connects as root with a key");
    const conf = d.write_files.find((f) => f.path === "/etc/ssh/sshd_config.d/10-freshtrack.conf");
    assert.ok(conf);
    assert.equal(conf.permissions, "0644");
    const [global, match] = conf.content.split(/^Match User deploy\n/m);
    assert.ok(match, "a Match block for the deploy user");
    const lines = Object.fromEntries(
      global
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split(" ") as [string, string]),
    );
    assert.deepEqual(lines, SSHD_HARDENING);
    // Only the deploy user may forward, only locally, only to Grafana's port; the block is closed.
    assert.equal(match, "    AllowTcpForwarding local\n    PermitOpen *:3000\nMatch all\n");
    assert.deepEqual(SSHD_DEPLOY_USER_FORWARDING, { AllowTcpForwarding: "local", PermitOpen: "*:3000" });
    assert.equal(lines.PasswordAuthentication, "no");
    assert.equal(lines.PermitRootLogin, "prohibit-password");
    assert.equal(lines.AllowTcpForwarding, "no");
    assert.equal(lines.HostKey, "/etc/ssh/ssh_host_ed25519_key");
    // The config is validated before sshd reloads it.
    assert.deepEqual(d.runcmd[0], ["sh", "-c", "sshd -t && (systemctl reload ssh || systemctl reload sshd)"]);
  });

  it("creates the deploy user in the docker group with a locked password and the given keys", () => {
    const d = doc(renderCloudInit(input()));
    const user = d.users.find((u) => typeof u === "object" && u.name === "deploy") as Exclude<Doc["users"][number], string>;
    assert.ok(user);
    assert.deepEqual(user.groups, ["docker"]);
    assert.equal(user.lock_passwd, true);
    assert.deepEqual(user.ssh_authorized_keys, ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployDeployDeployDeployDeployDeployDe"]);
    assert.ok(d.users.includes("default"));
  });

  it("runs the shared bootstrap as an argv (no shell re-parses the script or its arguments) and pre-seeds Docker's daemon.json", () => {
    const i = input();
    const d = doc(renderCloudInit(i));
    assert.deepEqual(d.runcmd[1], ["bash", "-c", i.bootstrap.script, "bootstrap", ...i.bootstrap.args]);
    const daemon = d.write_files.find((f) => f.path === "/etc/docker/daemon.json");
    assert.ok(daemon);
    assert.deepEqual(JSON.parse(daemon.content), DOCKER_DAEMON);
    assert.equal((JSON.parse(daemon.content) as { "live-restore": boolean })["live-restore"], true);
  });

  it("the real bootstrap script and arguments: Docker from the fingerprint-checked repository, APP_DIR, no ufw, root copies", () => {
    const settings = { appDir: "/srv/ft" } as DoSettings;
    assert.deepEqual(bootstrapArgs(dropletBootstrap(settings, "deploy")), ["/srv/ft", "false", "22", "root", "deploy"]);
    const script = hostScript("bootstrap");
    assert.match(script, /^#!\/usr\/bin\/env bash/);
    assert.match(script, /docker-compose-plugin/);
    assert.match(script, /9DC858229FC7DD38854AE2D88D81803C0EBFCD88/);
  });

  it("keeps containers away from the metadata service (it serves user_data, host key included)", () => {
    const d = doc(renderCloudInit(input()));
    const dropin = d.write_files.find((f) => f.path === "/etc/systemd/system/docker.service.d/10-freshtrack-metadata.conf");
    assert.ok(dropin);
    assert.equal(dropin.content, DOCKER_METADATA_DROPIN);
    assert.match(dropin.content, /^\[Service\]\nExecStartPost=-\/bin\/sh -c '/, "a failure must not stop Docker");
    assert.match(
      dropin.content,
      /iptables -C DOCKER-USER -d 169\.254\.169\.254\/32 -j REJECT .*\|\| iptables -I DOCKER-USER -d 169\.254\.169\.254\/32 -j REJECT'/,
      "idempotent: checks before inserting",
    );
  });

  it("is deterministic and depends only on its input (nothing per release can sneak in)", () => {
    assert.equal(renderCloudInit(input()), renderCloudInit(input()));
    assert.notEqual(renderCloudInit(input()), renderCloudInit(input({ deployUser: "ops" })));
  });

  it("refuses a bad user name and a host key that is not ed25519", () => {
    assert.throws(() => renderCloudInit(input({ deployUser: "Root; rm -rf /" })), /not a Unix user name/);
    assert.throws(() => renderCloudInit(input({ hostKey: { privateKeyOpenssh: HOST_PRIV, publicKeyOpenssh: "ssh-rsa AAAAB3Nza" } })), /ed25519/);
  });
});
