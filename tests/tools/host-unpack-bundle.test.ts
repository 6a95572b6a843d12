// The bundle payload round-trips through the real unpack script: same files,
// same bytes, bin/ executable, and a half-written release is never left behind.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { copiedFiles, parseBundle, serializeBundle } from "../../components/shared/host/bundle-payload";

const SCRIPT = path.resolve(__dirname, "..", "..", "components", "shared", "host", "scripts", "unpack-bundle.sh");
const FILES = {
  "compose.yml": "services:\n  caddy:\n    image: caddy:2.10.2-alpine\n",
  "bin/deploy": "#!/usr/bin/env bash\necho 'quotes \" and \\\\ and ünïcödé'\n",
  "config/grafana/dashboards/freshtrack.json": JSON.stringify({ title: "FreshTrack", panels: [] }),
  "release.json": "{}\n",
};

describe("host: bundle payload", () => {
  it("round-trips every file byte for byte, sorted and deterministic", () => {
    const text = serializeBundle(FILES);
    assert.deepEqual(parseBundle(text), FILES);
    assert.equal(serializeBundle({ ...FILES }), text);
    assert.deepEqual(copiedFiles({ $asset: text }), FILES);
  });
  it("refuses paths that could climb out of the release", () => {
    assert.throws(() => serializeBundle({ "../etc/passwd": "x" }));
    assert.throws(() => serializeBundle({ "/etc/passwd": "x" }));
  });
  it("reads an AssetArchive's files too (nested archives flattened)", () => {
    assert.deepEqual(copiedFiles({ $archive: { "a.yml": { $asset: "a" }, config: { $archive: { "b.json": { $asset: "{}" } } } } }), {
      "a.yml": "a",
      "config/b.json": "{}",
    });
  });

  describe("unpack-bundle.sh (real bash)", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-unpack-"));
      fs.mkdirSync(path.join(dir, "releases"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("unpacks into releases/<hash>/ with bin/ executable", () => {
      fs.writeFileSync(path.join(dir, "releases", "abcdef0123456789.bundle"), serializeBundle(FILES));
      execFileSync("bash", [SCRIPT, dir, "abcdef0123456789"]);
      const rel = path.join(dir, "releases", "abcdef0123456789");
      for (const [p, content] of Object.entries(FILES)) assert.equal(fs.readFileSync(path.join(rel, p), "utf8"), content, p);
      assert.equal(fs.statSync(path.join(rel, "bin/deploy")).mode & 0o777, 0o755);
      assert.equal(fs.statSync(path.join(rel, "compose.yml")).mode & 0o777, 0o644);
      assert.equal(fs.statSync(rel).mode & 0o777, 0o755, "containers running as other uids must traverse it");
      // Second run: already complete, nothing touched.
      const out = execFileSync("bash", [SCRIPT, dir, "abcdef0123456789"], { encoding: "utf8" });
      assert.match(out, /already unpacked/);
    });
    it("a corrupt payload leaves no release directory", () => {
      fs.writeFileSync(path.join(dir, "releases", "0123456789abcdef.bundle"), "freshtrack-bundle/1\n../x 0644 eA==\n");
      const r = spawnSync("bash", [SCRIPT, dir, "0123456789abcdef"], { encoding: "utf8" });
      assert.notEqual(r.status, 0);
      assert.ok(!fs.existsSync(path.join(dir, "releases", "0123456789abcdef")));
      assert.deepEqual(
        fs.readdirSync(path.join(dir, "releases")).filter((f) => f.startsWith(".unpack")),
        [],
      );
    });
    it("shellcheck finds nothing", () => {
      execFileSync("shellcheck", [SCRIPT]);
    });
  });
});
