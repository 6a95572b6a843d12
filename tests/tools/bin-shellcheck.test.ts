// The REAL shellcheck on every on-host command (following `source lib.sh`), and
// `--help` of each exits 0 and prints usage without touching a host.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BIN_SRC } from "../fixtures/bin/harness";

const files = fs.readdirSync(BIN_SRC).sort();
const interpreter = (f: string) => {
  const first = fs.readFileSync(path.join(BIN_SRC, f), "utf8").split("\n")[0];
  return first.startsWith("#!") ? first.replace(/^#!\s*(\/usr\/bin\/env\s+)?/, "").split(/\s+/)[0] : "bash";
};

describe("tools: compose/files/bin passes shellcheck, every command has --help", () => {
  it("has the commands the design names", () => {
    for (const f of ["lib.sh", "with-secrets", "db-setup.sh", "preflight", "deploy", "rollback", "backup", "restore", "status", "install-schedule"]) {
      assert.ok(files.includes(f), `missing bin/${f}`);
    }
  });

  for (const f of files) {
    it(`shellcheck ${f}`, () => {
      const r = spawnSync("shellcheck", ["-x", "-f", "gcc", path.join(BIN_SRC, f)], { encoding: "utf8" });
      assert.equal(r.error, undefined, "shellcheck is not installed");
      assert.equal(r.stdout + r.stderr, "", `shellcheck findings in ${f}`);
      assert.equal(r.status, 0);
    });

    it(`${f} --help exits 0 and prints usage`, () => {
      // An empty PATH-less temp cwd: --help must not need docker, jq or an APP_DIR.
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "ft-help-"));
      try {
        const r = spawnSync(interpreter(f), [path.join(BIN_SRC, f), "--help"], { encoding: "utf8", cwd });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Usage: /);
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  it("executable bit is set on every command in git (scripts call each other through bash, so a push that drops modes still works)", () => {
    for (const f of files.filter((x) => x !== "lib.sh")) {
      assert.ok(fs.statSync(path.join(BIN_SRC, f)).mode & 0o100, `${f} is not executable`);
    }
  });

  it("shellcheck reports a real finding (the check can fail)", () => {
    const tmp = path.join(os.tmpdir(), `ft-bad-${process.pid}.sh`);
    fs.writeFileSync(tmp, "#!/bin/sh\nrm -rf $1/*\n");
    try {
      assert.throws(() => execFileSync("shellcheck", [tmp], { stdio: "pipe" }));
    } finally {
      fs.rmSync(tmp);
    }
  });
});
