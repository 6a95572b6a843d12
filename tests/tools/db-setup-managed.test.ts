// bin/db-setup.sh as the digitalocean release runs it, against a REAL PostgreSQL
// whose admin is not a superuser (DigitalOcean's doadmin has CREATEDB and
// CREATEROLE only). The script, its environment, the secret files and the admin
// URL all come from the do example stack the program renders (bundle + secret
// payload); only the URL's port, the address it dials (PGHOSTADDR=127.0.0.1: the
// host NAME stays the managed cluster's private host, so verify-full checks it), the
// CA's path and the secret files' mount paths are adapted to this machine. The
// stand-in's certificate is issued by a CA of the test for exactly that host name, as
// DigitalOcean's cluster CA issues the cluster's. PostgreSQL 17 (Debian trixie) and 15:
// the CREATEROLE rules changed in 16, and DigitalOcean offers 14 to 17.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parse as parsePgUrl } from "pg-connection-string";
import { parse } from "yaml";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { parseSecretPayload } from "../../compose/secret-files";
import { DB_SETUP_PATH } from "../../compose/render/compose";
import { DB_CA_CLIENT_PATH, DB_CA_FILE } from "../../compose/render/pgbouncer";
import { run, stubDocker } from "../fixtures/bin/harness";
import { PgCluster, postgresOwnedDir, startPgCluster } from "../fixtures/pg-cluster";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";
import { mustPlan, one } from "../helpers/plan";

interface ComposeService {
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  secrets?: { source: string; target: string }[];
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file: string }>;
}

/** The digitalocean release as the program renders it: bundle files and secret files. */
function renderedDoRelease() {
  const plan = mustPlan("do");
  const bundle = copiedFiles(one(plan, "command:remote:CopyToRemote", "copy-bundle").inputs.source);
  const stdin = (one(plan, "command:remote:Command", "write-secrets").inputs.stdin as { $secret: string }).$secret;
  const secrets = parseSecretPayload(stdin);
  const release = JSON.parse(bundle["release.json"]) as { target: string; compose_files: string[] };
  assert.equal(release.target, "digitalocean");
  // db-setup's service, merged over the release's compose files in -f order (environment maps merge).
  const service: ComposeService = { environment: {}, volumes: [] };
  const mounts: Record<string, string> = {};
  const migrateVolumes: string[] = [];
  for (const f of release.compose_files) {
    const doc = parse(bundle[f]) as Compose;
    migrateVolumes.push(...(doc.services.migrate?.volumes ?? []));
    const s = doc.services["db-setup"];
    if (!s) continue;
    Object.assign(service.environment!, s.environment ?? {});
    service.volumes!.push(...(s.volumes ?? []));
    if (s.entrypoint) service.entrypoint = s.entrypoint;
    for (const ref of s.secrets ?? []) mounts[ref.target] = doc.secrets?.[ref.source]?.file ?? "";
  }
  return { bundle, secrets, service, mounts, migrateVolumes };
}

/** In `dir`: ca.pem (a CA of the test) and, in `out`, server.pem/server.key for `host`, issued by it. */
function clusterCert(dir: string, out: string, host: string): void {
  issueServerCert(makeTestCa(dir, "test cluster CA"), out, [host]);
}

for (const version of [17, 15]) {
  const PG_BIN = `/usr/lib/postgresql/${version}/bin`;

  describe(`tools: db-setup.sh of the digitalocean release against real PostgreSQL ${version}, admin without SUPERUSER`, function () {
    this.timeout(180000);
    let dir = "";
    let port = 0;
    let rel: ReturnType<typeof renderedDoRelease>;
    let admin: { user: string; password: string; database: string };
    let appPassword = "";
    let dbHost = "";
    let caFile = "";
    const SUPER_PW = "super-local-only";

    let cluster: PgCluster | undefined;
    const connect = async (user: string, password: string, database: string) => {
      const c = new Client({ host: "127.0.0.1", port, user, password, database, ssl: { rejectUnauthorized: false } });
      await c.connect();
      return c;
    };
    const sql = async (who: "super" | "admin", database: string, text: string) => {
      const c = who === "super" ? await connect("postgres", SUPER_PW, database) : await connect(admin.user, admin.password, database);
      try {
        return (await c.query(text)).rows as Record<string, unknown>[];
      } finally {
        await c.end();
      }
    };

    /** Runs the rendered script with the rendered environment, as `compose run db-setup` would. */
    const dbSetup = async (passwordFile?: string, waitSeconds = 20) => {
      const script = path.join(dir, "release", "bin", "db-setup.sh");
      assert.deepEqual(rel.service.entrypoint, ["/bin/sh", DB_SETUP_PATH]);
      // The secret files are mounted at the paths the script reads by default; here they are files in our temp dir.
      assert.ok(rel.mounts["/run/secrets/ADMIN_DATABASE_URL"]?.endsWith("/db-setup/ADMIN_DATABASE_URL"));
      assert.ok(rel.mounts["/run/secrets/APP_DB_PASSWORD"]?.endsWith("/db-setup/APP_DB_PASSWORD"));
      // The CA: mounted from the release's config/db-ca.crt where the URL and PGSSLROOTCERT say; here a file of ours.
      assert.ok(rel.service.volumes?.includes(`./${DB_CA_FILE}:${DB_CA_CLIENT_PATH}:ro`));
      assert.equal(rel.service.environment?.PGSSLROOTCERT, DB_CA_CLIENT_PATH);
      assert.equal(rel.service.environment?.PGSSLMODE, "verify-full");
      const env = {
        PATH: `${PG_BIN}:/usr/bin:/bin`,
        ...rel.service.environment,
        PGSSLROOTCERT: caFile,
        // Dial loopback; libpq still verifies the certificate against the URL's host name.
        PGHOSTADDR: "127.0.0.1",
        FT_ADMIN_DATABASE_URL_FILE: path.join(dir, "secrets", "ADMIN_DATABASE_URL"),
        FT_APP_DB_PASSWORD_FILE: passwordFile ?? path.join(dir, "secrets", "APP_DB_PASSWORD"),
        FT_WAIT_SECONDS: String(waitSeconds),
      };
      const r = await run("sh", [script], { env });
      for (const s of [admin.password, appPassword, "rotated-app-password-2"]) assert.ok(!(r.stdout + r.stderr).includes(s), "db-setup printed a secret");
      return r;
    };

    const checkApp = async (password: string) => {
      const roles = await sql("super", "postgres", "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = 'frostguard'");
      assert.deepEqual(roles, [{ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true }]);
      const owner = await sql("super", "postgres", "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'frostguard'");
      assert.deepEqual(owner, [{ owner: "frostguard" }]);
      const c = await connect("frostguard", password, "frostguard");
      try {
        // statement_timeout comes from the role (PgBouncer drops the app's startup parameter).
        assert.equal((await c.query("SHOW statement_timeout")).rows[0].statement_timeout, "30s");
        assert.equal((await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0].ssl, true);
        await c.query("CREATE TABLE IF NOT EXISTS public.readings_probe (id bigserial PRIMARY KEY, v real)");
        await c.query("INSERT INTO public.readings_probe (v) VALUES (4.5)");
        const priv = await c.query(
          "SELECT has_schema_privilege('frostguard', 'public', 'USAGE') AS u, has_schema_privilege('frostguard', 'public', 'CREATE') AS c",
        );
        assert.deepEqual(priv.rows[0], { u: true, c: true });
      } finally {
        await c.end();
      }
      const adminRole = await sql("super", "postgres", `SELECT rolsuper FROM pg_roles WHERE rolname = '${admin.user}'`);
      assert.deepEqual(adminRole, [{ rolsuper: false }], "the admin stayed a non-superuser");
    };

    before(async () => {
      rel = renderedDoRelease();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ft-dbsetup-pg${version}-`));
      fs.chmodSync(dir, 0o755);
      // The release's script, byte for byte.
      fs.mkdirSync(path.join(dir, "release", "bin"), { recursive: true });
      fs.writeFileSync(path.join(dir, "release", "bin", "db-setup.sh"), rel.bundle["bin/db-setup.sh"], { mode: 0o755 });

      // The admin URL the push writes, with the CA path replaced by our file and (once ours listens) the managed cluster's port by ours.
      const url = new URL(rel.secrets["db-setup/ADMIN_DATABASE_URL"].content.trim());
      assert.equal(url.searchParams.get("sslmode"), "verify-full");
      assert.equal(url.searchParams.get("sslrootcert"), DB_CA_CLIENT_PATH);
      admin = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: url.pathname.slice(1) };
      assert.equal(admin.user, "doadmin");
      dbHost = url.hostname;
      assert.match(dbHost, /^private-.*\.db\.ondigitalocean\.com$/);
      caFile = path.join(dir, "ca", "cluster-ca.crt");
      url.searchParams.set("sslrootcert", caFile);
      appPassword = rel.secrets["db-setup/APP_DB_PASSWORD"].content;
      fs.mkdirSync(path.join(dir, "secrets"));
      fs.writeFileSync(path.join(dir, "secrets", "APP_DB_PASSWORD"), appPassword, { mode: 0o600 });

      // A cluster of our own on a free loopback port, TLS on, its certificate issued by our CA for the cluster's host name.
      const pg = path.join(dir, "pg");
      fs.mkdirSync(pg);
      fs.mkdirSync(path.join(dir, "ca"));
      clusterCert(path.join(dir, "ca"), pg, dbHost);
      fs.copyFileSync(path.join(dir, "ca", "ca.pem"), caFile);
      fs.chmodSync(path.join(pg, "server.key"), 0o600);
      const pwFile = await postgresOwnedDir(pg, SUPER_PW);
      cluster = await startPgCluster({
        user: "postgres",
        bin: PG_BIN,
        socketDir: pg,
        dataDir: `${pg}/data`,
        logFile: `${pg}/log`,
        pwFile,
        tls: { cert: `${pg}/server.pem`, key: `${pg}/server.key` },
      });
      port = cluster.port;
      url.port = String(port);
      fs.writeFileSync(path.join(dir, "secrets", "ADMIN_DATABASE_URL"), url.toString(), { mode: 0o600 });

      // DigitalOcean's admin: CREATEDB CREATEROLE, not SUPERUSER; its own database defaultdb.
      await sql("super", "postgres", `CREATE ROLE ${admin.user} LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD '${admin.password}'`);
      await sql("super", "postgres", `CREATE DATABASE ${admin.database} OWNER ${admin.user}`);
    });

    after(async () => {
      await cluster?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("creates role frostguard (LOGIN, no SUPERUSER/CREATEDB/CREATEROLE) and database frostguard owned by it; statement_timeout 30s; over TLS", async () => {
      const r = await dbSetup();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /role frostguard and database frostguard are in place/);
      await checkApp(appPassword);
    });

    it("verify-full: a server certificate from another CA, or for another host name, is refused", async () => {
      const other = path.join(dir, "other");
      fs.mkdirSync(other);
      clusterCert(other, other, dbHost);
      // The URL's sslrootcert is what db-setup uses (it overrides PGSSLROOTCERT): point it at another CA.
      const urlFile = path.join(dir, "secrets", "ADMIN_DATABASE_URL");
      const good = fs.readFileSync(urlFile, "utf8");
      const u = new URL(good);
      u.searchParams.set("sslrootcert", path.join(other, "ca.pem"));
      fs.writeFileSync(urlFile, u.toString());
      try {
        const r2 = await dbSetup(undefined, 2);
        assert.notEqual(r2.code, 0);
        assert.match(r2.stderr, /certificate verify failed|server certificate|SSL error/i);
        // Right CA, wrong name: the stand-in's certificate names the cluster's host, not this one.
        u.searchParams.set("sslrootcert", caFile);
        u.hostname = "some-other-host.example";
        fs.writeFileSync(urlFile, u.toString());
        const r3 = await dbSetup(undefined, 2);
        assert.notEqual(r3.code, 0);
        assert.match(r3.stderr, /does not match host name|server certificate/i);
      } finally {
        fs.writeFileSync(urlFile, good);
      }
    });

    it("migrate's URL (node-postgres, as the app image parses it) verifies the cluster's certificate and host name against the CA", async () => {
      assert.ok(rel.migrateVolumes.includes(`./${DB_CA_FILE}:${DB_CA_CLIENT_PATH}:ro`));
      const u = new URL(rel.secrets["migrate/DATABASE_URL"].content);
      assert.equal(u.searchParams.get("sslrootcert"), DB_CA_CLIENT_PATH);
      u.searchParams.set("sslrootcert", caFile);
      u.port = String(port);
      const cfg = parsePgUrl(u.toString());
      const ssl = cfg.ssl as { ca?: string; rejectUnauthorized?: boolean };
      assert.equal(ssl.ca, fs.readFileSync(caFile, "utf8"), "node-postgres reads the CA from sslrootcert");
      assert.notEqual(ssl.rejectUnauthorized, false);
      const open = async (servername: string) => {
        const c = new Client({ ...cfg, host: "127.0.0.1", port, ssl: { ...ssl, servername } } as ConstructorParameters<typeof Client>[0]);
        await c.connect();
        try {
          return (await c.query("SELECT current_user AS u")).rows[0].u as string;
        } finally {
          await c.end();
        }
      };
      assert.equal(await open(dbHost), "frostguard");
      await assert.rejects(open("some-other-host.example"), /altnames|Hostname\/IP does not match/);
    });

    it("bin/backup, bin/restore and preflight (lib/db.sh ft_db_connection + ft_db_tool) verify the cluster against the release's CA", async () => {
      // The release's lib.sh (and the bin/lib/*.sh it sources) and release.json byte for byte;
      // its config/db-ca.crt is our CA (the mock cluster CA otherwise).
      const relDir = path.join(dir, "lib-release");
      const secretsDir = path.join(dir, "lib-secrets");
      fs.mkdirSync(path.join(relDir, "bin", "lib"), { recursive: true });
      fs.mkdirSync(path.join(relDir, "config"));
      fs.mkdirSync(path.join(secretsDir, "backup"), { recursive: true });
      const libFiles = Object.keys(rel.bundle).filter((f) => f === "bin/lib.sh" || f.startsWith("bin/lib/"));
      assert.ok(libFiles.includes("bin/lib/db.sh"), libFiles.join(" "));
      for (const f of libFiles) fs.writeFileSync(path.join(relDir, f), rel.bundle[f]);
      fs.writeFileSync(path.join(relDir, "release.json"), rel.bundle["release.json"].replace(/"port": 25060/, `"port": ${port}`));
      const release = JSON.parse(fs.readFileSync(path.join(relDir, "release.json"), "utf8")) as { database: Record<string, unknown> };
      assert.deepEqual([release.database.port, release.database.sslmode, release.database.sslrootcert], [port, "verify-full", DB_CA_FILE]);
      fs.copyFileSync(caFile, path.join(relDir, DB_CA_FILE));
      fs.writeFileSync(path.join(secretsDir, "backup", "pgpass"), rel.secrets["backup/pgpass"].content.replace(/:25060:/g, `:${port}:`), { mode: 0o600 });
      const script = 'set -Eeuo pipefail; source "$1/bin/lib.sh"; REL_DIR=$1 SECRETS_DIR=$2; ft_db_connection; ft_db_query "$ADMIN_DB" "SELECT current_user"';
      const libRun = (extra: Record<string, string> = {}) =>
        run("bash", ["-c", script, "lib-test", relDir, secretsDir], { env: { PATH: "/usr/bin:/bin", FT_PG_BIN: PG_BIN, PGHOSTADDR: "127.0.0.1", ...extra } });
      const good = await libRun();
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stdout.trim(), admin.user);
      // Another CA in the release: refused.
      fs.copyFileSync(path.join(dir, "other", "ca.pem"), path.join(relDir, DB_CA_FILE));
      const bad = await libRun();
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /certificate verify failed/);
      // In a container of the postgres image (production): the CA is mounted and named by PGSSLROOTCERT.
      const log = path.join(dir, "docker.log");
      const stub = await libRun({ PATH: `${stubDocker(path.join(dir, "stub"))}:/usr/bin:/bin`, FT_PG_BIN: "", FT_STUB_LOG: log });
      assert.equal(stub.code, 0, stub.stderr);
      const runLine = fs
        .readFileSync(log, "utf8")
        .split("\n")
        .find((l) => l.startsWith("run "));
      assert.ok(runLine?.includes(`-e PGSSLROOTCERT=/run/ft/db-ca.crt -v ${path.join(relDir, DB_CA_FILE)}:/run/ft/db-ca.crt:ro`), runLine);
      assert.ok(runLine?.includes("-e PGSSLMODE"), runLine);
    });

    it("a re-run changes nothing and succeeds", async () => {
      const before = await sql("super", "frostguard", "SELECT count(*)::int AS n FROM public.readings_probe");
      const r = await dbSetup();
      assert.equal(r.code, 0, r.stderr);
      await checkApp(appPassword);
      const after = await sql("super", "frostguard", "SELECT count(*)::int AS n FROM public.readings_probe");
      assert.equal(after[0].n, (before[0].n as number) + 1, "the data is still there (one row added by the check)");
    });

    it("a rotated password (dbPasswordGeneration) is set by the admin; the old one is refused", async () => {
      const next = path.join(dir, "secrets", "APP_DB_PASSWORD.next");
      fs.writeFileSync(next, "rotated-app-password-2", { mode: 0o600 });
      const r = await dbSetup(next);
      assert.equal(r.code, 0, r.stderr);
      await checkApp("rotated-app-password-2");
      await assert.rejects(connect("frostguard", appPassword, "frostguard"), /password authentication failed/);
      const back = await dbSetup();
      assert.equal(back.code, 0, back.stderr);
    });

    it("role and database made beforehand by the admin (DigitalOcean's DatabaseUser/DatabaseDb, before the push) are taken over", async () => {
      await sql("super", "postgres", "DROP DATABASE frostguard");
      await sql("super", "postgres", "DROP ROLE frostguard");
      await sql("admin", admin.database, "CREATE ROLE frostguard LOGIN PASSWORD 'do-generated-unused'");
      await sql("admin", admin.database, "CREATE DATABASE frostguard");
      const r = await dbSetup();
      assert.equal(r.code, 0, r.stderr);
      await checkApp(appPassword);
    });

    if (version >= 16) {
      it("an app role the admin may not manage (made by a superuser) fails with the reason and the fix", async () => {
        await sql("super", "postgres", "DROP DATABASE frostguard");
        await sql("super", "postgres", "DROP ROLE frostguard");
        await sql("super", "postgres", "CREATE ROLE frostguard LOGIN");
        const r = await dbSetup();
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /no ADMIN OPTION on it.*Fix: .*GRANT the app role TO the admin WITH ADMIN OPTION/);
      });
    }
  });
}
