// A move off aws: the forwarder behind the old load balancer (components/aws/move-forward.ts).
// Its two containers run the hosts' own hold.js (the file's bytes) as nobody on a read-only root,
// with no secret, each with its fixed target; the task definition stays far below ECS's size
// limit; the listener rules come before every app rule, ACME only in prepare, everything from
// cutover on; the command as ECS runs it (`node -e`) answers the health check; the wait for the
// target groups' health fails when they never turn healthy.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
  MOVE_FORWARD_HEALTH,
  MOVE_FORWARD_STANDBY_RULE,
  MOVE_FORWARD_UPSTREAM_TIMEOUT_MS,
  NEW_HOST_HOLD_MS,
  MoveForwardTaskInput,
  moveForwardContainerDefinitions,
  moveForwardReadyScript,
  moveForwardRuleSet,
  moveForwardRules,
} from "../../components/aws/move-forward";
import { ALB_IDLE_TIMEOUT } from "../../components/aws/constants";
import { ContainerDefinition } from "../../components/aws/container-definitions";
import { listenerRules } from "../../components/aws/routing";

const ROOT = path.join(__dirname, "..", "..");
const HOLD_JS = fs.readFileSync(path.join(ROOT, "compose/files/move/hold.js"), "utf8");
const IMAGE = "ghcr.io/freshtrack/backend:1.4.2@sha256:" + "a".repeat(64);
const input: MoveForwardTaskInput = { image: IMAGE, newAddress: "203.0.113.7", logGroup: "/freshtrack/acme/move-forward", region: "eu-central-1" };
const defs = (i = input) => JSON.parse(moveForwardContainerDefinitions(i)) as ContainerDefinition[];
const env = (d: ContainerDefinition) => Object.fromEntries(d.environment.map((e) => [e.name, e.value]));
const byName = (name: string, i = input) => defs(i).find((d) => d.name === name)!;

describe("aws move forwarder: container definitions", () => {
  it("two containers, the backend's image, hold.js's own bytes under node -e, as nobody on a read-only root, no secret", () => {
    const all = defs();
    assert.deepEqual(all.map((d) => d.name).sort(), ["acme", "forward"]);
    for (const d of all) {
      assert.equal(d.image, IMAGE);
      assert.deepEqual(d.entryPoint, ["node"]);
      assert.equal(d.command!.length, 2);
      assert.equal(d.command![0], "-e");
      assert.equal(d.command![1], HOLD_JS, "the file, byte for byte");
      assert.equal(d.user, "65534");
      assert.equal(d.readonlyRootFilesystem, true);
      assert.deepEqual(d.secrets, []);
      assert.equal(d.repositoryCredentials, undefined);
      assert.deepEqual(d.mountPoints, []);
      assert.equal(d.essential, true);
      assert.deepEqual(d.logConfiguration.options, { "awslogs-group": input.logGroup, "awslogs-region": "eu-central-1", "awslogs-stream-prefix": d.name });
      assert.equal(env(d).FT_HOLD_MAX_MS, "110000");
      assert.equal(env(d).FT_HOLD_HEALTH, MOVE_FORWARD_HEALTH);
      assert.equal(env(d).FT_HOLD_DIR, undefined, "no directory: the target is fixed");
      assert.ok(Number(env(d).FT_HOLD_KEEPALIVE_MS) > ALB_IDLE_TIMEOUT * 1000, "the ALB closes idle connections, not the forwarder");
    }
    assert.ok(all.reduce((s, d) => s + d.cpu, 0) <= 256 && all.reduce((s, d) => s + d.memoryReservation, 0) <= 512, "within the 256/512 task");
  });

  it("forward: port 3000 to https://NEW:443; acme: port 3001 to http://NEW:80", () => {
    const f = byName("forward");
    const a = byName("acme");
    assert.deepEqual(f.portMappings, [{ containerPort: 3000, hostPort: 3000, protocol: "tcp" }]);
    assert.deepEqual(a.portMappings, [{ containerPort: 3001, hostPort: 3001, protocol: "tcp" }]);
    assert.equal(env(f).FT_HOLD_PORT, "3000");
    assert.equal(env(a).FT_HOLD_PORT, "3001");
    assert.deepEqual(JSON.parse(env(f).FT_HOLD_TARGET), { url: "https://203.0.113.7:443" });
    assert.deepEqual(JSON.parse(env(a).FT_HOLD_TARGET), { url: "http://203.0.113.7:80" });
    const named = byName("forward", { ...input, newAddress: "new.acme-foods.example" });
    assert.deepEqual(JSON.parse(env(named).FT_HOLD_TARGET), { url: "https://new.acme-foods.example:443" });
  });

  it("the health path is the one bin/lib/hold.sh gives the hosts' holder", () => {
    const lib = fs.readFileSync(path.join(ROOT, "compose/files/bin/lib/hold.sh"), "utf8");
    assert.ok(lib.includes(`FT_MOVE_HOLD_HEALTH=${MOVE_FORWARD_HEALTH}\n`));
  });

  it("the forwarder waits for an answer longer than the new host holds a request (bin/move-forward --hold's limit)", () => {
    const lib = fs.readFileSync(path.join(ROOT, "compose/files/bin/lib/hold.sh"), "utf8");
    assert.ok(lib.includes(`FT_MOVE_HOLD_MS=${NEW_HOST_HOLD_MS}\n`), "bin/lib/hold.sh holds as long as the forwarder expects");
    assert.ok(MOVE_FORWARD_UPSTREAM_TIMEOUT_MS > NEW_HOST_HOLD_MS);
    for (const d of defs()) assert.equal(env(d).FT_HOLD_UPSTREAM_TIMEOUT_MS, String(MOVE_FORWARD_UPSTREAM_TIMEOUT_MS), d.name);
  });

  it("a backend image on the private registry is pulled with its login; another is not", () => {
    const registry = { server: "ghcr.io", secretArn: "arn:aws:secretsmanager:eu-central-1:111122223333:secret:registry-AbCdEf" };
    assert.deepEqual(byName("forward", { ...input, registry }).repositoryCredentials, { credentialsParameter: registry.secretArn });
    assert.equal(byName("forward", { ...input, registry: { ...registry, server: "registry.example.com" } }).repositoryCredentials, undefined);
  });

  it("same input, same bytes; the task definition stays far below ECS's 64 KiB", () => {
    const json = moveForwardContainerDefinitions(input);
    assert.equal(moveForwardContainerDefinitions(input), json);
    console.log(`      figure: container definitions ${json.length} bytes (hold.js ${HOLD_JS.length} bytes, twice)`);
    assert.ok(json.length < 32 * 1024, `${json.length} bytes: at most half of ECS's limit`);
  });

  it("the command as ECS runs it (node -e SOURCE, the container's environment) answers the health path locally", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const d = byName("forward");
    const p = spawn(process.execPath, d.command!, { env: { ...env(d), FT_HOLD_PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let body = "";
      // Up to 20 s for node to start and listen (seconds on a loaded machine), a try every 100 ms.
      const deadline = Date.now() + 20_000;
      while (!body && Date.now() < deadline) {
        body = await new Promise<string>((resolve) =>
          http
            .get({ host: "127.0.0.1", port, path: MOVE_FORWARD_HEALTH }, (res) => {
              let b = "";
              res.on("data", (c) => (b += c));
              res.on("end", () => resolve(res.statusCode === 200 ? b : ""));
            })
            .on("error", () => setTimeout(() => resolve(""), 100)),
        );
      }
      assert.equal(body, '{"holding":true}');
    } finally {
      p.kill("SIGKILL");
    }
  });
});

describe("aws move forwarder: listener rules", () => {
  const appPriorities = listenerRules().map((r) => r.priority);

  it("every rule of the forwarder (the standby one included) comes before every app rule, each priority its own", () => {
    const ours = [...moveForwardRules("all").map((r) => r.priority), MOVE_FORWARD_STANDBY_RULE.priority];
    for (const p of ours) assert.ok(p >= 1 && p < Math.min(...appPriorities), `priority ${p} below ${Math.min(...appPriorities)}`);
    assert.equal(new Set([...ours, ...appPriorities]).size, ours.length + appPriorities.length);
  });

  it("prepare: ACME challenges only, to the acme container", () => {
    assert.equal(moveForwardRuleSet("prepare"), "acme");
    assert.deepEqual(moveForwardRules("acme"), [{ name: "move-acme", priority: 1, pathPatterns: ["/.well-known/acme-challenge/*"], target: "acme" }]);
  });

  it("cutover and retire: ACME challenges and every other request (/*, to the forward container); rollback: none", () => {
    assert.equal(moveForwardRuleSet("cutover"), "all");
    assert.equal(moveForwardRuleSet("retire"), "all");
    assert.equal(moveForwardRuleSet("rollback"), undefined);
    assert.deepEqual(
      moveForwardRules("all").map((r) => [r.name, r.pathPatterns, r.target]),
      [
        ["move-acme", ["/.well-known/acme-challenge/*"], "acme"],
        ["move-forward-all", ["/*"], "forward"],
      ],
    );
    const all = moveForwardRules("all");
    assert.ok(all[0].priority < all[1].priority, "a challenge is matched before the catch-all");
  });

  it("the standby rule matches no real request: a host name under .invalid", () => {
    assert.match(MOVE_FORWARD_STANDBY_RULE.hostHeader, /\.invalid$/);
  });
});

describe("aws move forwarder: the wait for healthy targets", () => {
  const FAKE_AWS = `#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls"
[ "\${FAKE_WAIT_FAILS:-0}" = 0 ] || exit 255
`;
  function run(extra: Record<string, string> = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-aws-forward-"));
    fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
    const p = spawnSync("bash", ["-c", moveForwardReadyScript()], {
      encoding: "utf8",
      env: { PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, AWS_REGION: "eu-central-1", TARGET_GROUPS: "arn:tg/forward arn:tg/acme", ...extra },
    });
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: p.status, stderr: p.stderr, calls };
  }

  it("waits for each target group in turn", () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      "elbv2 wait target-in-service --region eu-central-1 --target-group-arn arn:tg/forward",
      "elbv2 wait target-in-service --region eu-central-1 --target-group-arn arn:tg/acme",
    ]);
  });

  it("a group that never turns healthy fails the step after two waits (no rule is created)", () => {
    const r = run({ FAKE_WAIT_FAILS: "1" });
    assert.equal(r.status, 1);
    assert.equal(r.calls.length, 2);
    assert.match(r.stderr, /not healthy in arn:tg\/forward/);
  });
});
