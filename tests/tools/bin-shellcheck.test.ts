// The REAL shellcheck on every on-host command (following `source lib.sh`), and
// `--help` of each exits 0 and prints usage without touching a host.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BIN_SRC } from "../fixtures/bin/harness";

/** The commands (and lib.sh, move-lib.sh) directly in bin/. */
const files = fs
  .readdirSync(BIN_SRC)
  .filter((f) => fs.statSync(path.join(BIN_SRC, f)).isFile())
  .sort();
/** The helpers lib.sh sources, one file per job: bin/lib/<job>.sh. */
const LIB_DIR = path.join(BIN_SRC, "lib");
const libFiles = fs.readdirSync(LIB_DIR).sort();
/** The words every command uses, which keep short names (lib.sh's naming rule). */
const SHORT_NAMES: Record<string, string> = { log: "log", warn: "log", die: "log", need: "log", rj: "release", compose: "compose" };
/** Function names a bash file defines at the start of a line: `name() {`. */
const definedFunctions = (text: string) => [...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{/gm)].map((m) => m[1]);
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

  for (const f of libFiles) {
    it(`shellcheck lib/${f}`, () => {
      const r = spawnSync("shellcheck", ["-x", "-f", "gcc", path.join(LIB_DIR, f)], { encoding: "utf8" });
      assert.equal(r.error, undefined, "shellcheck is not installed");
      assert.equal(r.stdout + r.stderr, "", `shellcheck findings in lib/${f}`);
      assert.equal(r.status, 0);
    });
  }

  it("lib.sh sources every bin/lib/*.sh exactly once, and nothing else", () => {
    const lib = fs.readFileSync(path.join(BIN_SRC, "lib.sh"), "utf8");
    const sourced = [...lib.matchAll(/^source "\$_ft_lib\/([a-z]+\.sh)"$/gm)].map((m) => m[1]);
    assert.deepEqual([...sourced].sort(), libFiles);
    assert.equal(new Set(sourced).size, sourced.length);
    assert.deepEqual(definedFunctions(lib), [], "lib.sh itself only sources its parts");
  });

  it("naming rule: a function of bin/lib/<job>.sh is ft_<job> or ft_<job>_<what> (or one of the six short names), defined once", () => {
    const seen = new Map<string, string>();
    const wrong: string[] = [];
    for (const f of libFiles) {
      const job = f.replace(/\.sh$/, "");
      for (const name of definedFunctions(fs.readFileSync(path.join(LIB_DIR, f), "utf8"))) {
        if (seen.has(name)) wrong.push(`${name} defined in ${seen.get(name)} and ${f}`);
        seen.set(name, f);
        const ok = SHORT_NAMES[name] === job || name === `ft_${job}` || name.startsWith(`ft_${job}_`);
        if (!ok) wrong.push(`${name} in lib/${f}`);
      }
    }
    // The move's own helpers follow the same rule with the job "move".
    for (const name of definedFunctions(fs.readFileSync(path.join(BIN_SRC, "move-lib.sh"), "utf8"))) {
      if (!name.startsWith("ft_move_")) wrong.push(`${name} in move-lib.sh`);
    }
    assert.deepEqual(wrong, []);
    for (const short of Object.keys(SHORT_NAMES)) assert.ok(seen.has(short), `${short} is not defined`);
  });

  it("a command defines no ft_ function of its own (an ft_ name is always a lib one)", () => {
    for (const f of files.filter((x) => x !== "move-lib.sh")) {
      const own = definedFunctions(fs.readFileSync(path.join(BIN_SRC, f), "utf8")).filter((n) => n.startsWith("ft_"));
      assert.deepEqual(own, [], f);
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
    // lib.sh and bin/lib/*.sh are sourced, never run (0644 in git; the bundle ships all of bin/ 0755).
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
