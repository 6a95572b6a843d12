// bin/move-export --authorize against a REAL sshd (OpenSSH with its default UseDNS no, which
// matches authorized_keys from= against the client's address only): the line it writes lets the
// move key in from the host it names, given by address or by host name, and from no other
// address. The release is the one the program renders for the vm example (renderBundle).
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { run, RunResult } from "../fixtures/bin/harness";
import { freePort } from "../fixtures/free-port";
import { installRelease, renderedVmRelease } from "../fixtures/move-release";

describe("tools: move-export --authorize, its key tried against a real sshd", function () {
  this.timeout(60000);
  let dir: string;
  let moveExport: string;
  let keysFile: string;
  let port: number;
  let sshd: ChildProcess | undefined;
  let sshdLog = "";
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, FT_MOVE_HOME: path.join(dir, "home") });

  // The move's pull as bin/move-import makes it, from this machine's 127.0.0.1; "bogus" is a
  // mode the forced command refuses, so its message proves sshd let the key in and ran it.
  const pull = (): Promise<RunResult> =>
    run("ssh", [
      ...["-p", String(port), "-i", path.join(dir, "client"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"],
      ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10"],
      "root@127.0.0.1",
      "bogus",
    ]);
  const authorize = (...args: string[]): Promise<RunResult> =>
    run(moveExport, ["--authorize", ...args], {
      env: env(),
      // "TYPE BASE64" without ssh-keygen's comment, as the move's key step hands it over.
      input: fs.readFileSync(path.join(dir, "client.pub"), "utf8").split(" ").slice(0, 2).join(" ") + "\n",
    });
  const fromOfLine = (): string => /^restrict,from="([^"]*)",/m.exec(fs.readFileSync(keysFile, "utf8"))?.[1] ?? "";
  const letIn = (r: RunResult) => {
    assert.notEqual(r.code, 255, `sshd refused the key: ${r.stderr}\n${sshdLog}`);
    assert.match(r.stderr, /may only run 'stream'/, "the forced command ran");
  };

  before(async () => {
    // sshd separates privileges: it must start as root (.ci/run runs the suite as root).
    assert.equal(process.getuid?.(), 0, "this test runs a real sshd, which needs root: run it as root (.ci/run does)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-authorize-sshd-"));
    const { appDir } = installRelease(dir, renderedVmRelease());
    moveExport = path.join(appDir, "current", "bin", "move-export");
    keysFile = path.join(dir, "home", ".ssh", "authorized_keys");
    for (const k of ["hostkey", "client"]) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, k)]);
    port = await freePort();
    const config = path.join(dir, "sshd_config");
    fs.writeFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${path.join(dir, "hostkey")}`,
        `AuthorizedKeysFile ${keysFile}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        // The temporary directory is not root-owned all the way up.
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "",
      ].join("\n"),
    );
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    // What the test relies on: sshd's own default, not a setting of ours.
    const effective = execFileSync("/usr/sbin/sshd", ["-T", "-f", config, "-C", "user=root,host=localhost,addr=127.0.0.1"], { encoding: "utf8" });
    assert.match(effective, /^usedns no$/m);
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    sshd.stderr!.on("data", (d: Buffer) => (sshdLog += d.toString()));
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => (s.end(), resolve(true)));
        s.on("error", () => resolve(false));
      });
      if (up) break;
      assert.ok(i < 100, `sshd did not listen: ${sshdLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(() => {
    sshd?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a host given by name: every address it resolves to is in from=, and sshd lets the key in", async () => {
    const r = await authorize("localhost");
    assert.equal(r.code, 0, r.stderr);
    const resolved = [
      ...new Set(
        execFileSync("getent", ["ahosts", "localhost"], { encoding: "utf8" })
          .trim()
          .split("\n")
          .map((l) => l.split(/\s+/)[0]),
      ),
    ];
    assert.deepEqual(fromOfLine().split(",").sort(), resolved.sort());
    assert.match(r.stderr, /authorized the move key from localhost \(127\.0\.0\.1/);
    letIn(await pull());
  });

  it("why: the same line with the host name itself in from= is refused by this sshd", async () => {
    assert.equal((await authorize("127.0.0.1")).code, 0);
    fs.writeFileSync(keysFile, fs.readFileSync(keysFile, "utf8").replace('from="127.0.0.1"', 'from="localhost"'));
    const refused = await pull();
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied/);
  });

  it("a host given by address: that address only; another address is refused by sshd", async () => {
    assert.equal((await authorize("127.0.0.1")).code, 0);
    assert.equal(fromOfLine(), "127.0.0.1");
    letIn(await pull());

    assert.equal((await authorize("192.0.2.1")).code, 0);
    const refused = await pull();
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied/);
  });

  it("a host behind a NAT (moveVmEgressAddress, a CIDR): the pool as it is in from=, and sshd lets the key in from it", async () => {
    const r = await authorize("127.0.0.0/29", "203.0.113.77");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fromOfLine(), "127.0.0.0/29");
    letIn(await pull());
    assert.notEqual((await authorize("127.0.0.0/29;x")).code, 0, "anything else is refused");
  });

  it("a name that does not resolve: refused, naming the fix; the authorized keys unchanged", async () => {
    const before = fs.readFileSync(keysFile, "utf8");
    const r = await authorize("no-such-host.invalid");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /'no-such-host\.invalid' \(the host that pulls with the move key\) does not resolve on this host.*Fix: /);
    assert.equal(fs.readFileSync(keysFile, "utf8"), before);
  });
});
