// The job queue of a move with aws on one side, through the REAL pieces: the aws tasks' queue
// containers (the scripts moveQueueDumpScript / moveQueueLoadScript and the EVAL line
// queueDumpCommand, as the container definitions carry them) against a TLS-only redis-server
// with an AUTH token (the ElastiCache stand-in: no plain port, the test CA as the trusted
// bundle), and a host's bin/move-lib.sh (ft_move_queue_dump, ft_move_queue_load, through a
// docker stand-in that turns `docker exec -i ID valkey-cli` into redis-cli on a second server).
// Keys of every type BullMQ uses, binary bytes and newlines in names and values, TTLs, a value
// larger than valkey-cli's line buffer; both directions; and the refusals.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { moveExportContainerDefinitions, MOVE_EXPORT_CONTAINERS, moveExportOverrides } from "../../components/aws/move-export";
import { moveImportContainerDefinitions, MOVE_IMPORT_CONTAINERS } from "../../components/aws/move-import";
import {
  moveQueueDumpScript,
  moveQueueLoadScript,
  QUEUE_DUMP_ENV,
  QUEUE_FILES,
  QUEUE_LOADED_FILE,
  QUEUE_PAGE_KEYS,
  queueDumpCommand,
} from "../../components/aws/move-queue";
import { BIN_SRC } from "../fixtures/bin/harness";
import { linkValkeyCli, redisDockerShim, RedisServer, startRedis } from "../fixtures/redis-server";
import { imageUserland } from "../fixtures/nobody";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";

const TOKEN = "tok" + crypto.randomBytes(12).toString("hex");
const HOST_PW = `host "pw" \\ ${crypto.randomBytes(6).toString("hex")}`;

type Server = RedisServer;

/** What BullMQ keeps (a list, hashes, sorted sets, a stream, locks with a TTL) and the awkward cases. */
function seed(s: Server): void {
  const big = crypto.randomBytes(700_000).toString("base64");
  s.cli(["FLUSHALL"]);
  s.cli(["RPUSH", "bull:alerts:wait", "3", "2", "1"]);
  s.cli(["HSET", "bull:alerts:1", "name", "sms", "data", '{"to":"+4915112345678","text":"Freezer 3: 9.1 °C\nfor 20 min"}', "attempts", "0"]);
  s.cli(["ZADD", "bull:alerts:delayed", "1796505336004", "7", "1796505399999", "8"]);
  s.cli(["ZADD", "bull:alerts:repeat", "1796505336000", "digest:hourly"]);
  s.cli(["XADD", "bull:alerts:events", "*", "event", "added", "jobId", "1"]);
  s.cli(["SADD", "bull:alerts:set", "a", "b"]);
  s.cli(["SET", "bull:alerts:1:lock", "token-1", "PX", "600000"]);
  s.cli(["-x", "SET", "big"], big);
  // A name with a space, quotes, a backslash and a newline; a value with every byte.
  s.cli(["-x", "SET", 'odd key "q" \\ \n end'], Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("latin1"));
}

// Per key (sorted): its name's sha1, type, whether it has a TTL, and the sha1 of its value in a
// canonical order (a set's or hash's members sorted: a restored set may iterate differently).
const CANONICAL_LUA = `
local function lp(v) local o = {} for _, x in ipairs(v) do o[#o + 1] = #x .. ':' .. x end return table.concat(o, ',') end
local out = {}
local keys = redis.call('KEYS', '*')
table.sort(keys)
for _, k in ipairs(keys) do
  local t = redis.call('TYPE', k).ok
  local v = {}
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k) table.sort(v)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  elseif t == 'hash' then
    local h = redis.call('HGETALL', k)
    for i = 1, #h, 2 do v[#v + 1] = lp({h[i], h[i + 1]}) end
    table.sort(v)
  elseif t == 'stream' then
    for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do v[#v + 1] = e[1] .. '=' .. lp(e[2]) end
  end
  out[#out + 1] = redis.sha1hex(k) .. ' ' .. t .. ' ' .. (redis.call('PTTL', k) > 0 and 'ttl' or '-') .. ' ' .. redis.sha1hex(lp(v))
end
return out`;

/** Every key's canonical line: equal on both sides means the same keys, types, values and TTL presence. */
const snapshot = (s: Server): string[] => s.cli(["EVAL", CANONICAL_LUA, "0"]).toString().trim().split("\n");

describe("tools: the job queue travels key by key to and from aws (the tasks' queue containers, a host's move-lib.sh)", function () {
  this.timeout(120_000);
  let root: string;
  let aws: Server;
  let host: Server;
  let caCert: string;
  let bin: string;
  let shell: string;
  let scriptPath: (rest: string) => string;
  let app: string;

  before(async function () {
    if (spawnSync("redis-server", ["--version"]).status !== 0) this.skip();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-move-queue-"));
    const ca = makeTestCa(path.join(root, "ca"), "FreshTrack test CA");
    const cert = issueServerCert(ca, path.join(root, "ca"), ["localhost"]);
    caCert = ca.cert;
    aws = await startRedis(root, "aws", TOKEN, { cert: cert.cert, key: cert.key, ca: ca.cert });
    host = await startRedis(root, "host", HOST_PW);
    // The images call it valkey-cli; redis-cli 7 is the same client.
    bin = path.join(root, "bin");
    const land = imageUserland(bin);
    shell = land.shell;
    scriptPath = land.path;
    linkValkeyCli(bin);
    // The host: its redis password file, and docker reaching the host's redis.
    app = path.join(root, "app");
    fs.mkdirSync(path.join(app, "secrets", "redis"), { recursive: true });
    fs.writeFileSync(path.join(app, "secrets", "redis", "password"), HOST_PW, { mode: 0o600 });
    redisDockerShim(path.join(root, "shim"));
  });

  after(() => {
    aws?.stop();
    host?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** A container script as the task runs it: its MOVE_DIR, REDIS_URL as connection-urls.ts builds it, the test CA as the image's bundle. */
  function container(script: string, dir: string, env: Record<string, string> = {}) {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync(shell, ["-c", script], {
      env: {
        PATH: scriptPath(`${bin}:/usr/bin:/bin`),
        MOVE_DIR: dir,
        REDIS_URL: `rediss://:${TOKEN}@localhost:${aws.port}`,
        REDIS_CA_FILE: caCert,
        ...env,
      },
      encoding: "utf8",
    });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  /** A host's move-lib.sh function, as bin/move-export and bin/move-import call it. */
  function hostLib(call: string, ...args: string[]) {
    const r = spawnSync("bash", ["-c", `set -Eeuo pipefail; source "$1/move-lib.sh"; ft_paths_resolve; ${call}`, "t", BIN_SRC, ...args], {
      env: { ...process.env, FT_APP_DIR: app, FT_TEST_REDIS_PORT: String(host.port), PATH: `${path.join(root, "shim")}:${process.env.PATH}` },
      encoding: "utf8",
    });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  const noSecret = (out: string) => {
    assert.ok(!out.includes(TOKEN), "the AUTH token appears in output");
    assert.ok(!out.includes(HOST_PW), "the host's redis password appears in output");
  };

  it("the container definitions carry exactly these scripts, in order, with REDIS_URL from Secrets Manager only", () => {
    const i = {
      postgresImage: "postgres:16-alpine",
      rcloneImage: "rclone/rclone:1.71.1",
      redisImage: "valkey/valkey:8.1.3-alpine@sha256:" + "a".repeat(64),
      dbName: "freshtrack",
      rdsCa: "PEM",
      backupsBucket: "b",
      assetsBucket: "a",
      kmsKeyArn: "arn:aws:kms:eu-central-1:1:key/k",
      region: "eu-central-1",
      assetsRegion: "eu-central-1",
      logGroup: "/freshtrack/t/move",
      secretArns: Object.fromEntries(["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "REDIS_URL"].map((e) => [e, `arn:${e}`])),
    };
    type Def = {
      name: string;
      command: string[];
      environment: { name: string; value: string }[];
      secrets: { name: string }[];
      dependsOn?: { containerName: string }[];
    };
    const exp = JSON.parse(moveExportContainerDefinitions(i)) as Def[];
    const imp = JSON.parse(moveImportContainerDefinitions(i)) as Def[];
    assert.deepEqual(
      exp.map((d) => d.name),
      ["volumes", "dump", "queue", "upload"],
    );
    assert.deepEqual(
      imp.map((d) => d.name),
      ["volumes", "fetch", "queue", "restore"],
    );
    const eq = exp.find((d) => d.name === MOVE_EXPORT_CONTAINERS.queue)!;
    const iq = imp.find((d) => d.name === MOVE_IMPORT_CONTAINERS.queue)!;
    assert.equal(eq.command[0], moveQueueDumpScript());
    assert.equal(iq.command[0], moveQueueLoadScript());
    assert.equal(eq.environment.find((e) => e.name === QUEUE_DUMP_ENV)?.value, queueDumpCommand());
    for (const d of [eq, iq]) assert.deepEqual(d.secrets, [{ name: "REDIS_URL", valueFrom: "arn:REDIS_URL" }]);
    assert.deepEqual(exp.find((d) => d.name === "upload")!.dependsOn, [{ containerName: "queue", condition: "SUCCESS" }]);
    assert.deepEqual(imp.find((d) => d.name === "restore")!.dependsOn, [{ containerName: "queue", condition: "SUCCESS" }]);
    // Inside a freeze the queue container learns it too (its counts are then compared).
    const o = JSON.parse(moveExportOverrides("1796505336")) as { containerOverrides: { name: string }[] };
    assert.deepEqual(
      o.containerOverrides.map((c) => c.name),
      ["queue", "upload"],
    );
  });

  it("a host's EVAL line is the container's, byte for byte", () => {
    const r = hostLib('ft_move_queue_dump_command; printf "%s\\n" "$FT_MOVE_QUEUE_PAGE"');
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out, `${queueDumpCommand()}\n${QUEUE_PAGE_KEYS}\n`);
  });

  it("aws -> host: the export's queue container dumps ElastiCache over TLS; the host loads it; every key equal", () => {
    seed(aws);
    host.cli(["SET", "stale-on-the-new-side", "x"]);
    const dir = path.join(root, "aws-to-host");
    const d = container(moveQueueDumpScript(), dir, { [QUEUE_DUMP_ENV]: queueDumpCommand(), MOVE_FREEZE_STARTED: "1796505336.25" });
    assert.equal(d.status, 0, d.out);
    noSecret(d.out);
    assert.equal(fs.readFileSync(path.join(dir, QUEUE_FILES.counts), "utf8"), "9 1 true\n");
    assert.match(d.out, /job queue: 9 keys, 1 of them with a TTL/);
    const l = hostLib('ft_move_queue_load redis-test "$2" 9', path.join(dir, QUEUE_FILES.commands));
    assert.equal(l.status, 0, l.out);
    noSecret(l.out);
    assert.deepEqual(snapshot(host), snapshot(aws));
    assert.equal(snapshot(host).length, 9, "the stale key went (FLUSHALL first)");
    assert.equal(snapshot(host).filter((l) => / string ttl /.test(l)).length, 1);
    const ttl = Number(host.cli(["PTTL", "bull:alerts:1:lock"]).toString());
    assert.ok(ttl > 590_000 && ttl <= 600_000, `the lock keeps its TTL: ${ttl}`);
    assert.equal(host.cli(["STRLEN", "big"]).toString().trim(), String(Math.ceil(700_000 / 3) * 4));
  });

  it("host -> aws: a host's dump loads through the import's queue container; queue-loaded.txt says what redis holds", () => {
    seed(host);
    host.cli(["DEL", "big"]);
    aws.cli(["SET", "stale-on-aws", "x"]);
    const dir = path.join(root, "host-to-aws");
    fs.mkdirSync(dir);
    const d = hostLib('ft_move_queue_dump redis-test "$2" true', dir);
    assert.equal(d.status, 0, d.out);
    noSecret(d.out);
    assert.equal(fs.readFileSync(path.join(dir, QUEUE_FILES.counts), "utf8"), "8 1 true\n");
    const l = container(moveQueueLoadScript(), dir);
    assert.equal(l.status, 0, l.out);
    noSecret(l.out);
    assert.equal(fs.readFileSync(path.join(dir, QUEUE_LOADED_FILE), "utf8"), "8 1\n");
    assert.deepEqual(snapshot(aws), snapshot(host));
  });

  it("a queue of many pages (2,500 keys, 1,000 a page): every key once, both directions", () => {
    // 2,500 completed jobs as BullMQ keeps them (a hash each), 500 of them with a TTL.
    aws.cli(["FLUSHALL"]);
    aws.cli([
      "EVAL",
      "for i = 1, 2500 do redis.call('HSET', 'bull:alerts:' .. i, 'data', string.rep('x', i % 97), 'finishedOn', i) if i % 5 == 0 then redis.call('PEXPIRE', 'bull:alerts:' .. i, 3600000) end end return 1",
      "0",
    ]);
    const dir = path.join(root, "pages");
    aws.cli(["CONFIG", "RESETSTAT"]);
    const d = container(moveQueueDumpScript(), dir, { [QUEUE_DUMP_ENV]: queueDumpCommand() });
    assert.equal(d.status, 0, d.out);
    const evals = Number(/cmdstat_eval:calls=(\d+)/.exec(aws.cli(["INFO", "commandstats"]).toString())?.[1]);
    assert.ok(evals >= 3, `one EVAL a page: ${evals}`);
    assert.equal(fs.readFileSync(path.join(dir, QUEUE_FILES.counts), "utf8"), "2500 500 false\n");
    const l = hostLib('ft_move_queue_load redis-test "$2" 2500', path.join(dir, QUEUE_FILES.commands));
    assert.equal(l.status, 0, l.out);
    assert.deepEqual(snapshot(host), snapshot(aws));
    const back = path.join(root, "pages-back");
    fs.mkdirSync(back);
    const h = hostLib('ft_move_queue_dump redis-test "$2" false', back);
    assert.equal(h.status, 0, h.out);
    assert.equal(fs.readFileSync(path.join(back, QUEUE_FILES.counts), "utf8"), "2500 500 false\n");
    const names = fs
      .readFileSync(path.join(back, QUEUE_FILES.commands), "utf8")
      .trim()
      .split("\n")
      .map((x) => x.split(" ")[1]);
    assert.equal(new Set(names).size, 2500);
  });

  it("an image without openssl: the certificate's chain alone is checked, and the log says so", () => {
    // Every command of the host's but openssl.
    const noOpenssl = path.join(root, "no-openssl");
    fs.mkdirSync(noOpenssl);
    for (const d of ["/usr/bin", "/bin"])
      for (const f of fs.readdirSync(d))
        if (f !== "openssl" && !fs.existsSync(path.join(noOpenssl, f))) fs.symlinkSync(path.join(d, f), path.join(noOpenssl, f));
    const dir = path.join(root, "no-openssl-dump");
    const r = container(moveQueueDumpScript(), dir, { [QUEUE_DUMP_ENV]: queueDumpCommand(), PATH: `${bin}:${noOpenssl}` });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /no openssl in this image: the name in redis's certificate is not checked, its chain is/);
    const otherCa = makeTestCa(path.join(root, "other-ca-2"), "Someone else");
    const untrusted = container(moveQueueDumpScript(), dir, { [QUEUE_DUMP_ENV]: queueDumpCommand(), PATH: `${bin}:${noOpenssl}`, REDIS_CA_FILE: otherCa.cert });
    assert.equal(untrusted.status, 1, untrusted.out);
    assert.match(untrusted.out, /refused the AUTH token or the TLS connection/);
  });

  it("an old side without redis: `none` leaves the new side's queue as it is", () => {
    const dir = path.join(root, "none");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, QUEUE_FILES.counts), "none\n");
    const before = snapshot(aws);
    const l = container(moveQueueLoadScript(), dir, { REDIS_URL: "rediss://:wrong@localhost:1" });
    assert.equal(l.status, 0, l.out);
    assert.equal(fs.readFileSync(path.join(dir, QUEUE_LOADED_FILE), "utf8"), "none\n");
    assert.deepEqual(snapshot(aws), before);
  });

  it("refuses: a wrong token, a CA that did not sign the server, a certificate for another name, keys outside database 0, a line redis rejects", () => {
    const dir = path.join(root, "refusals");
    const env = { [QUEUE_DUMP_ENV]: queueDumpCommand() };
    const wrong = container(moveQueueDumpScript(), dir, { ...env, REDIS_URL: `rediss://:wrong${TOKEN.slice(5)}@localhost:${aws.port}` });
    assert.equal(wrong.status, 1, wrong.out);
    assert.match(wrong.out, /refused the AUTH token or the TLS connection/);
    noSecret(wrong.out);
    assert.ok(!fs.existsSync(path.join(dir, QUEUE_FILES.counts)));
    const otherCa = makeTestCa(path.join(root, "other-ca"), "Someone else");
    const untrusted = container(moveQueueDumpScript(), dir, { ...env, REDIS_CA_FILE: otherCa.cert });
    assert.equal(untrusted.status, 1, untrusted.out);
    assert.match(untrusted.out, /does not show a TLS certificate valid for localhost under .*other-ca/);
    // A certificate the trusted CA signed, but for another name (valkey-cli alone would accept it).
    const otherName = container(moveQueueDumpScript(), dir, { ...env, REDIS_URL: `rediss://:${TOKEN}@127.0.0.1:${aws.port}` });
    assert.equal(otherName.status, 1, otherName.out);
    assert.match(otherName.out, /does not show a TLS certificate valid for 127\.0\.0\.1/);
    noSecret(otherName.out);
    const plain = container(moveQueueDumpScript(), dir, { ...env, REDIS_URL: `redis://:${TOKEN}@localhost:${aws.port}` });
    assert.equal(plain.status, 1);
    assert.match(plain.out, /not a rediss:\/\/ \(TLS\) URL/);
    noSecret(plain.out);

    aws.cli(["-n", "3", "SET", "elsewhere", "x"]);
    const other = container(moveQueueDumpScript(), dir, env);
    assert.equal(other.status, 1, other.out);
    assert.match(other.out, /keys outside database 0 \(db3\)/);
    aws.cli(["-n", "3", "FLUSHDB"]);
    host.cli(["-n", "2", "SET", "elsewhere", "x"]);
    const hostOther = hostLib('ft_move_queue_dump redis-test "$2" false', dir);
    assert.equal(hostOther.status, 1, hostOther.out);
    assert.match(hostOther.out, /keys outside database 0 \(db2 \)/);
    host.cli(["-n", "2", "FLUSHDB"]);
    // A release without the dump's Lua: refused, not an empty queue.
    const noLua = hostLib('SCRIPT_RELEASE_DIR=/nonexistent ft_move_queue_dump redis-test "$2" false', dir);
    assert.equal(noLua.status, 1, noLua.out);
    assert.match(noLua.out, /\/nonexistent\/move\/queue-dump\.lua is missing: this release cannot copy the job queue/);
    assert.ok(!fs.existsSync(path.join(dir, QUEUE_FILES.counts)));

    // A RESTORE redis rejects (a payload whose checksum fails): the load says so and fails.
    fs.writeFileSync(path.join(dir, QUEUE_FILES.commands), 'RESTORE "k" 0 "\\x00\\x01" REPLACE\n');
    fs.writeFileSync(path.join(dir, QUEUE_FILES.counts), "1 0 true\n");
    const bad = container(moveQueueLoadScript(), dir);
    assert.equal(bad.status, 1, bad.out);
    assert.match(bad.out, /redis refused some of the queue \(1 of 2 replies OK\)/);
    assert.ok(!fs.existsSync(path.join(dir, QUEUE_LOADED_FILE)));
    const hostBad = hostLib('ft_move_queue_load redis-test "$2" 1', path.join(dir, QUEUE_FILES.commands));
    assert.equal(hostBad.status, 1, hostBad.out);
    assert.match(hostBad.out, /redis refused some of the old side's job queue \(1 of 2 replies OK\)/);
  });
});
