// The RDS root CAs the AWS target verifies RDS with: what is kept from AWS's global
// bundle and what is refused. Certificates are made here with the real openssl.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { X509Certificate } from "crypto";
import { RDS_CA_FILE, RDS_URL_TLS, caEntryPoint, regionalRdsCa } from "../../components/aws/rds-ca";
import { dbSetupCommand } from "../../components/aws/one-off";
import { dumpScript } from "../../components/aws/dump";

const MOCK_BUNDLE = fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "lib", "fixtures", "mock-rds-global-bundle.pem"), "utf8");
const cns = (pem: string) =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => /CN=([^\n]*)/.exec(new X509Certificate(p).subject)![1]);

describe("aws: RDS root CAs (rds-ca.ts)", () => {
  let dir = "";
  const cert = (cn: string, extra: string[]) => {
    const out = path.join(dir, `${cn.replace(/\W+/g, "-")}.pem`);
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "k.pem"), "-out", out, "-subj", `/CN=${cn}`, ...extra],
      {
        stdio: "ignore",
      },
    );
    return fs.readFileSync(out, "utf8");
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-rds-ca-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps the region's roots only, sorted by name, every one complete", () => {
    assert.deepEqual(cns(regionalRdsCa(MOCK_BUNDLE, "us-east-1")), ["Amazon RDS us-east-1 Root CA ECC384 G1", "Amazon RDS us-east-1 Root CA RSA2048 G1"]);
    assert.deepEqual(cns(regionalRdsCa(MOCK_BUNDLE, "eu-west-1")), ["Amazon RDS eu-west-1 Root CA RSA2048 G1", "Amazon RDS eu-west-1 Root CA RSA4096 G1"]);
    // Same input, same bytes (no task definition churn).
    assert.equal(regionalRdsCa(MOCK_BUNDLE, "us-east-1"), regionalRdsCa(MOCK_BUNDLE.split("\n").reverse().reverse().join("\n"), "us-east-1"));
  });

  it("refuses a bundle without the root of the instance's CA in the region", () => {
    assert.throws(() => regionalRdsCa(MOCK_BUNDLE, "eu-central-1"), /no valid "Amazon RDS eu-central-1 Root CA RSA2048 G1"/);
    assert.throws(() => regionalRdsCa(MOCK_BUNDLE, "us-east-1", "rds-ca-rsa4096-g1"), /RSA4096 G1/);
    assert.throws(() => regionalRdsCa("<html>rate limited</html>", "us-east-1"), /no certificate/);
    assert.throws(() => regionalRdsCa(MOCK_BUNDLE, "us-east-1", "rds-ca-2019"), /unknown RDS certificate authority/);
  });

  it("refuses a region certificate that is not a self-signed CA; skips an expired root", () => {
    const leaf = cert("Amazon RDS us-east-1 Root CA RSA2048 G1", ["-days", "2", "-addext", "basicConstraints=critical,CA:FALSE"]);
    assert.throws(() => regionalRdsCa(MOCK_BUNDLE + leaf, "us-east-1"), /not a self-signed CA certificate/);
    // Valid for two days: "now" three days later, it is skipped; the bundle's own roots remain.
    const shortLived = cert("Amazon RDS us-east-1 Root CA RSA4096 G1", ["-days", "2", "-addext", "basicConstraints=critical,CA:TRUE"]);
    const later = new Date(Date.now() + 3 * 86400 * 1000);
    assert.ok(!cns(regionalRdsCa(MOCK_BUNDLE + shortLived, "us-east-1", undefined, later)).includes("Amazon RDS us-east-1 Root CA RSA4096 G1"));
    assert.ok(cns(regionalRdsCa(MOCK_BUNDLE + shortLived, "us-east-1")).includes("Amazon RDS us-east-1 Root CA RSA4096 G1"));
  });

  it("every client names the same file: the URL's sslrootcert, the entry point, db-setup's psql; the dump names its own", () => {
    assert.equal(RDS_URL_TLS, "sslmode=verify-full&sslrootcert=%2Ftmp%2Frds-ca.pem");
    assert.ok(caEntryPoint()[2].includes(`> ${RDS_CA_FILE} && exec "$0" "$@"`));
    assert.ok(dbSetupCommand()[2].startsWith(`printf '%s\\n' "$RDS_CA_BUNDLE" > ${RDS_CA_FILE} && `));
    assert.match(dbSetupCommand()[2], /sslmode=verify-full sslrootcert=\/tmp\/rds-ca\.pem"$/);
    assert.match(dumpScript("frostguard"), /printf '%s\\n' "\$\{RDS_CA_BUNDLE:\?RDS_CA_BUNDLE is empty\}" > "\$PGSSLROOTCERT"/);
  });

  it("the entry point writes the CA file and runs the command with its arguments unchanged (real sh)", () => {
    const file = path.join(dir, "written.pem");
    const [sh, flag, script] = caEntryPoint();
    const out = execFileSync(sh, [flag, script.replace(RDS_CA_FILE, file), "printf", "%s|%s", "a b", "c"], {
      env: { PATH: process.env.PATH, RDS_CA_BUNDLE: "PEM-LINE-1\nPEM-LINE-2" },
      encoding: "utf8",
    });
    assert.equal(out, "a b|c");
    assert.equal(fs.readFileSync(file, "utf8"), "PEM-LINE-1\nPEM-LINE-2\n");
  });
});
