// The rendered caddy.json checked by the real Caddy binary (`caddy validate`
// provisions every module, so unknown fields and bad values fail here), in both
// TLS modes and for both targets.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { caddyConfig, renderCaddyJson } from "../../compose/render/caddy";
import { caddyBundleInput } from "../fixtures/caddy-run";

describe("caddy validate (real caddy binary)", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-caddy-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // validate loads TLS storage and the admin config; point them at the temp dir, not $HOME.
  const validate = (file: string) =>
    spawnSync("caddy", ["validate", "--config", file], {
      encoding: "utf8",
      cwd: dir,
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });

  for (const target of ["vm", "digitalocean"] as const) {
    for (const tls of ["acme", "internal"] as const) {
      it(`accepts the ${target} config with ${tls} TLS`, () => {
        const file = path.join(dir, `caddy-${target}-${tls}.json`);
        fs.writeFileSync(file, renderCaddyJson(caddyBundleInput("app.cold-chain.example", tls, target)));
        const r = validate(file);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout + r.stderr, /Valid configuration/);
      });
    }
  }

  it("rejects a config with an unknown reverse_proxy field (the check can fail)", () => {
    const cfg = caddyConfig(caddyBundleInput("app.cold-chain.example", "acme")) as {
      apps: { http: { servers: { public: { routes: { handle: { routes?: { handle: Record<string, unknown>[] }[] }[] }[] } } } };
    };
    cfg.apps.http.servers.public.routes[1].handle[1].routes![0].handle[0].strip_prefix_typo = "/api";
    const file = path.join(dir, "broken.json");
    fs.writeFileSync(file, JSON.stringify(cfg));
    const r = validate(file);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown field/);
  });
});
