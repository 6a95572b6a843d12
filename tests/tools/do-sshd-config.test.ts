// The sshd drop-in the droplet's user_data installs, checked by the real sshd
// (`sshd -t` parses and validates; `sshd -T -C user=...` prints what applies to
// a connection). Taken from the user_data the digitalocean example stack renders,
// included the way Ubuntu's /etc/ssh/sshd_config includes sshd_config.d (at the
// top, its own settings after), with only the paths adapted to a temp directory.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { mustPlan, one } from "../helpers/plan";

// Ubuntu 24.04's sshd_config, stock lines (comments dropped): the drop-ins come first.
const UBUNTU_MAIN = (dropins: string) => `Include ${dropins}/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`;

describe("digitalocean sshd drop-in (real sshd)", () => {
  let dir: string;
  let main: string;
  let dropin: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-sshd-"));
    const userData = (one(mustPlan("do"), "digitalocean:index/droplet:Droplet").inputs.userData as { $secret: string }).$secret;
    const files = (parse(userData) as { write_files: { path: string; content: string }[] }).write_files;
    dropin = files.find((f) => f.path === "/etc/ssh/sshd_config.d/10-freshtrack.conf")!.content;
    // Path adaptation only: the pinned host key lives in our temp dir.
    const key = path.join(dir, "ssh_host_ed25519_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    assert.match(dropin, /^HostKey \/etc\/ssh\/ssh_host_ed25519_key$/m);
    fs.mkdirSync(path.join(dir, "sshd_config.d"));
    fs.writeFileSync(path.join(dir, "sshd_config.d", "10-freshtrack.conf"), dropin.replace("/etc/ssh/ssh_host_ed25519_key", key));
    main = path.join(dir, "sshd_config");
    fs.writeFileSync(main, UBUNTU_MAIN(path.join(dir, "sshd_config.d")));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const effective = (user: string): Record<string, string> => {
    const out = execFileSync("sshd", ["-T", "-f", main, "-C", `user=${user},host=ops.example,addr=198.51.100.7`], { encoding: "utf8" });
    return Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]),
    );
  };

  it("sshd -t accepts the drop-in as Ubuntu includes it", () => {
    const p = spawnSync("sshd", ["-t", "-f", main], { encoding: "utf8" });
    assert.equal(p.status, 0, p.stderr);
  });

  it("the deploy user may forward locally, only to Grafana's port (the documented tunnel)", () => {
    const c = effective("deploy");
    assert.equal(c.allowtcpforwarding, "local");
    assert.equal(c.permitopen, "*:3000");
    assert.equal(c.passwordauthentication, "no");
    assert.equal(c.allowagentforwarding, "no");
    assert.equal(c.permittunnel, "no");
  });

  it("root and every other user keep no forwarding at all", () => {
    for (const user of ["root", "ubuntu", "deployer"]) {
      const c = effective(user);
      assert.equal(c.allowtcpforwarding, "no", user);
      assert.equal(c.passwordauthentication, "no", user);
      assert.equal(c.permitrootlogin, "without-password", user);
    }
  });

  it("the Match block is closed: Ubuntu's own settings after the Include still apply to everyone", () => {
    // Without "Match all" an older sshd would read Ubuntu's Subsystem line inside the block (not allowed there).
    assert.match(dropin, /\nMatch all\n$/);
    for (const user of ["deploy", "root"]) assert.equal(effective(user).subsystem, "sftp /usr/lib/openssh/sftp-server", user);
  });
});
