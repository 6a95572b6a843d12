// ECS container definitions are derived from core/model.ts, canonical, and
// carry secrets only as Secrets Manager references.
import { strict as assert } from "assert";
import { AppService, appServices, AppModelInput, APP_SECRET_ENV } from "../../core/model";
import { appService } from "../../compose/render/compose";
import { TEST_APP } from "../fixtures/config";
import {
  ContainerDefinition,
  ContainerInput,
  INIT_MEMORY,
  MAX_STOP_TIMEOUT,
  containerDefinition,
  renderContainerDefinitions,
  scratchVolumes,
  volumeInitContainer,
} from "../../components/aws/container-definitions";

const MODEL: AppModelInput = {
  app: TEST_APP,

  objectStoreEndpoint: "https://s3.us-east-1.amazonaws.com",
  assetsBucket: "ft-test-assets",
};

const arn = (n: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:freshtrack/test/${n}-AbCdEf`;
const ALL_ARNS = Object.fromEntries(APP_SECRET_ENV.map((n) => [n, arn(n)]));
const SECRET_VALUE = "SUPERSECRETVALUE123";

function input(service: AppService, extra: Partial<ContainerInput> = {}): ContainerInput {
  return { service, taskCpu: 512, taskMemory: 1024, secretArns: ALL_ARNS, logGroup: "/freshtrack/test/x", region: "eu-west-1", ...extra };
}
const svc = () => appServices(MODEL);

describe("aws container definitions: derived from core/model.ts", () => {
  it("backend takes image, command, port, user, health check and stop grace from the model", () => {
    const m = svc().backend;
    const d = containerDefinition(input(m));
    assert.equal(d.name, "backend");
    assert.equal(d.image, m.image);
    assert.deepEqual(d.command, m.command);
    assert.equal(d.user, "1001");
    assert.deepEqual(d.portMappings, [{ containerPort: 3000, hostPort: 3000, protocol: "tcp" }]);
    assert.deepEqual(d.healthCheck, {
      command: m.health!.test,
      interval: m.health!.intervalSeconds,
      timeout: m.health!.timeoutSeconds,
      retries: m.health!.retries,
      startPeriod: m.health!.startPeriodSeconds,
    });
    assert.equal(d.stopTimeout, m.stopGraceSeconds);
    assert.deepEqual(
      d.environment.map((e) => e.name),
      Object.keys(m.environment).sort(),
    );
  });

  it("changing a health check in the model changes the ECS definition", () => {
    const base = svc().backend;
    const changed: AppService = {
      ...base,
      health: { ...base.health!, test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:3000/health/live || exit 1"], retries: 9 },
    };
    const a = containerDefinition(input(base));
    const b = containerDefinition(input(changed));
    assert.notDeepEqual(a.healthCheck, b.healthCheck);
    assert.equal(b.healthCheck!.retries, 9);
    assert.match(b.healthCheck!.command[1], /health\/live/);
  });

  it("one model entry, two renderers: a changed health check shows in the Compose service and the ECS definition alike", () => {
    const base = svc().backend;
    const changed: AppService = {
      ...base,
      health: { ...base.health!, test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:3000/health/live || exit 1"], intervalSeconds: 7, retries: 9 },
    };
    for (const m of [base, changed]) {
      const compose = appService(m, []).healthcheck as { test: unknown[]; interval: string; retries: number };
      const ecs = containerDefinition(input(m)).healthCheck!;
      assert.deepEqual(compose.test.map(String), ecs.command, "same test command");
      assert.equal(compose.interval, `${ecs.interval}s`);
      assert.equal(compose.retries, ecs.retries);
    }
    assert.notDeepEqual(appService(changed, []).healthcheck, appService(base, []).healthcheck);
  });

  it("changing a limit or the stop grace in the model changes the ECS definition (capped by task size and ECS's 120 s)", () => {
    const base = svc().backend;
    assert.equal(containerDefinition(input({ ...base, limits: { cpus: 0.25, memoryMb: 300 } })).cpu, 256);
    assert.equal(containerDefinition(input({ ...base, limits: { cpus: 0.25, memoryMb: 300 } })).memoryReservation, 300);
    assert.equal(containerDefinition(input({ ...base, limits: { cpus: 4, memoryMb: 4096 } })).cpu, 512, "container cpu never exceeds the task");
    assert.equal(
      containerDefinition(input({ ...base, limits: { cpus: 4, memoryMb: 4096 } })).memoryReservation,
      1024 - INIT_MEMORY,
      "leaves room for the volume-init container",
    );
    assert.equal(containerDefinition(input({ ...base, stopGraceSeconds: 90 })).stopTimeout, 90);
    assert.equal(containerDefinition(input({ ...base, stopGraceSeconds: 600 })).stopTimeout, MAX_STOP_TIMEOUT);
  });

  it("read-only root with one scratch volume per writable path of the model", () => {
    const f = svc().frontend;
    const d = containerDefinition(input(f));
    assert.equal(d.readonlyRootFilesystem, true);
    assert.deepEqual(
      d.mountPoints.map((p) => p.containerPath),
      [...f.writablePaths].sort(),
    );
    assert.deepEqual(
      d.mountPoints.map((p) => p.sourceVolume).sort(),
      scratchVolumes(f).map((v) => v.name),
    );
    assert.ok(d.mountPoints.every((p) => p.readOnly === false));
    assert.equal(d.user, "101", "frontend runs as nginx's unprivileged uid, from the model");
    assert.deepEqual(
      containerDefinition(input({ ...f, writablePaths: ["/tmp", "/data"] })).mountPoints.map((p) => p.containerPath),
      ["/data", "/tmp"],
    );
  });

  it("a root init container makes the scratch volumes writable (Fargate mounts them root-owned 0755) before the app starts", () => {
    const b = svc().backend;
    const defs = JSON.parse(renderContainerDefinitions([input(b)])) as ContainerDefinition[];
    assert.deepEqual(
      defs.map((d) => [d.name, d.essential]),
      [
        ["backend", true],
        ["backend-init-volumes", false],
      ],
    );
    const [app, init] = defs;
    assert.deepEqual(app.dependsOn, [{ containerName: "backend-init-volumes", condition: "SUCCESS" }]);
    assert.equal(init.user, "0");
    assert.equal(init.image, b.image);
    assert.deepEqual([init.entryPoint, init.command], [["sh", "-c"], ["chmod 1777 /tmp"]]);
    assert.equal(app.entryPoint, undefined, "the app keeps its image's entry point");
    assert.deepEqual(init.mountPoints, app.mountPoints);
    assert.deepEqual([init.environment, init.secrets, init.portMappings], [[], [], []], "the init container gets nothing secret");
    // Together they fit the task: ECS refuses reservations above the task size.
    const w = svc().worker;
    const wd = JSON.parse(renderContainerDefinitions([input(w, { taskCpu: 256, taskMemory: 512 })])) as ContainerDefinition[];
    assert.ok(wd.reduce((n, d) => n + d.memoryReservation, 0) <= 512);
    assert.ok(wd.reduce((n, d) => n + d.cpu, 0) <= 256);
    assert.equal(volumeInitContainer(input({ ...b, writablePaths: [] })), undefined);
    assert.equal(containerDefinition(input({ ...b, writablePaths: [] })).dependsOn, undefined);
    assert.throws(() => volumeInitContainer(input({ ...b, writablePaths: ["/tmp; rm -rf /"] })), /plain absolute path/);
  });

  it("writes out every field ECS would otherwise fill in", () => {
    const d = containerDefinition(input(svc().worker)) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries({
      essential: true,
      volumesFrom: [],
      systemControls: [],
      portMappings: [],
      linuxParameters: { initProcessEnabled: true },
    }))
      assert.deepEqual(d[k], v, k);
    assert.equal(typeof d.cpu, "number");
    assert.deepEqual((d as unknown as ContainerDefinition).logConfiguration, {
      logDriver: "awslogs",
      options: { "awslogs-group": "/freshtrack/test/x", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "worker" },
      secretOptions: [],
    });
  });

  it("secrets are {name, valueFrom: ARN}, sorted; unset optional ones are absent; required ones must exist", () => {
    const only = { DATABASE_URL: arn("DATABASE_URL"), JWT_SECRET: arn("JWT_SECRET"), NOT_READ_BY_BACKEND: arn("X") };
    const d = containerDefinition(input(svc().backend, { secretArns: only }));
    assert.deepEqual(d.secrets, [
      { name: "DATABASE_URL", valueFrom: arn("DATABASE_URL") },
      { name: "JWT_SECRET", valueFrom: arn("JWT_SECRET") },
    ]);
    assert.throws(() => containerDefinition(input(svc().backend, { secretArns: only, requiredSecrets: ["REDIS_URL"] })), /REDIS_URL/);
    const migrate = containerDefinition(input(svc().migrate));
    assert.deepEqual(
      migrate.secrets.map((s) => s.name),
      ["DATABASE_URL"],
      "migrate reads only the direct DATABASE_URL",
    );
  });

  it("nothing secret in environment: a secret name as plain env is refused, secret values never appear", () => {
    const b = svc().backend;
    assert.throws(() => containerDefinition(input(b, { environmentOverrides: { JWT_SECRET: SECRET_VALUE } })), /JWT_SECRET is a secret/);
    const d = containerDefinition(input(b));
    const names = new Set(d.environment.map((e) => e.name));
    for (const s of APP_SECRET_ENV) assert.ok(!names.has(s), `${s} in environment`);
    // ARNs are all the definition knows of a secret.
    assert.ok(!JSON.stringify(d).includes(SECRET_VALUE));
  });

  it("canonical: same input gives byte-identical JSON, whatever the key order of the input", () => {
    const a = renderContainerDefinitions([input(svc().backend)]);
    const shuffled = svc().backend;
    shuffled.environment = Object.fromEntries(Object.entries(shuffled.environment).reverse());
    const reversedArns = Object.fromEntries(Object.entries(ALL_ARNS).reverse());
    const b = renderContainerDefinitions([input(shuffled, { secretArns: reversedArns })]);
    assert.equal(a, b);
    assert.equal(renderContainerDefinitions([input(svc().backend)]), a);
    const env = (JSON.parse(a) as ContainerDefinition[])[0].environment.map((e) => e.name);
    assert.deepEqual(env, [...env].sort());
    // Fixed key order: the first keys are always name, image, essential.
    assert.match(a, /^\[\{"name":"backend","image":"[^"]+","essential":true,/);
  });
});
