// Pure tests of the observability renderer: profile, health checks, limits, log
// rotation, pinned images, no published ports, no secret values, the webhook flag.
import { strict as assert } from "assert";
import { parse } from "yaml";
import { parseImageRef } from "../../core/config";
import { IMAGES, ImageKey } from "../../core/images";
import { renderObservability } from "../../compose/render/observability";
import { alertRules } from "../../compose/render/observability/alerts";
import { OBSERVABILITY_BUDGET, OBSERVABILITY_SERVICES } from "../../compose/render/observability/budget";
import { DOCKER_PROXY_ALLOW_GET, ObservabilityComposeService } from "../../compose/render/observability/compose";
import { observabilitySecrets, observabilityServiceSecrets } from "../../compose/render/observability/secrets";
import { DOMAIN, DUMMY_SECRET, observabilityInput, OPERATOR_EMAIL } from "../fixtures/observability/input";

const withWebhook = renderObservability(observabilityInput());
const noWebhook = renderObservability(observabilityInput({}, ["vmSshPrivateKey"]));
// What a customer sets: operatorEmail (always) and the app's resendApiKey; no webhook.
const EMAIL_KEYS = ["vmSshPrivateKey", "resendApiKey"] as const;
const withEmail = renderObservability(observabilityInput({}, [...EMAIL_KEYS]));
const ALL_KEYS = ["vmSshPrivateKey", "resendApiKey", "alertWebhookUrl", "alertHeartbeatUrl"] as const;
const withAll = renderObservability(observabilityInput({}, [...ALL_KEYS]));
const compose = withWebhook.compose;
const services = Object.entries(compose.services) as [string, ObservabilityComposeService][];

describe("observability: compose services", () => {
  it("renders exactly the budgeted services, all in the observability profile", () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [...OBSERVABILITY_SERVICES].sort());
    for (const [name, s] of services) assert.deepEqual(s.profiles, ["observability"], name);
  });

  it("every service has a health check, a restart policy, CPU/memory limits and rotated logs", () => {
    for (const [name, s] of services) {
      assert.ok(s.healthcheck.test.length > 1 && ["CMD", "CMD-SHELL"].includes(s.healthcheck.test[0]), `${name}: healthcheck`);
      assert.ok(s.healthcheck.interval && s.healthcheck.timeout && s.healthcheck.retries > 0 && s.healthcheck.start_period, `${name}: healthcheck timings`);
      assert.equal(s.healthcheck.start_interval, "1s", `${name}: checked each second until ready`);
      assert.equal(s.restart, "unless-stopped", name);
      assert.match(s.deploy.resources.limits.cpus, /^\d+\.\d+$/, name);
      assert.match(s.deploy.resources.limits.memory, /^\d+M$/, name);
      assert.equal(s.logging.driver, "json-file", name);
      assert.ok(s.logging.options["max-size"] && s.logging.options["max-file"], `${name}: log rotation`);
    }
  });

  it("each health check uses a tool the image has (per the image table)", () => {
    for (const [name, s] of services) {
      const tool = s.healthcheck.test[1];
      assert.ok(IMAGES[name as ImageKey].healthTool.includes(tool), `${name}: ${tool} not in "${IMAGES[name as ImageKey].healthTool}"`);
    }
  });

  it("limits come from the exported budget, which fits beside the app on a 2 vCPU / 4 GB host", () => {
    let cpus = 0;
    let mem = 0;
    for (const [name, s] of services) {
      const b = OBSERVABILITY_BUDGET[name as keyof typeof OBSERVABILITY_BUDGET];
      assert.equal(Number(s.deploy.resources.limits.cpus), b.cpus, name);
      assert.equal(s.deploy.resources.limits.memory, `${b.memoryMb}M`, name);
      cpus += b.cpus;
      mem += b.memoryMb;
    }
    assert.ok(cpus <= 1.25, `profile CPU ${cpus}`);
    assert.ok(mem <= 1024, `profile memory ${mem} MB`);
  });

  it("publishes no port and never uses the host network", () => {
    for (const [name, s] of services) {
      const raw = s as unknown as Record<string, unknown>;
      assert.equal(raw.ports, undefined, name);
      assert.notEqual(raw.network_mode, "host", name);
    }
    assert.doesNotMatch(JSON.stringify(compose), /"ports"/);
  });

  it("images are pinned and come from the image table, overridable by key", () => {
    for (const [name, s] of services) {
      assert.equal(s.image, IMAGES[name as ImageKey].image, name);
      const ref = parseImageRef(s.image);
      assert.notEqual(typeof ref, "string", `${name}: ${String(ref)}`);
    }
    const mirrored = renderObservability(observabilityInput({ imageOverrides: JSON.stringify(["loki=registry.local/loki:3.5.5"]) })).compose;
    assert.equal(mirrored.services.loki.image, "registry.local/loki:3.5.5");
  });

  it("named volumes all have an explicit freshtrack_ name, and every volume a service uses is declared", () => {
    for (const [key, v] of Object.entries(compose.volumes)) assert.equal(v.name, key);
    for (const [name, s] of services) {
      for (const v of s.volumes) {
        const src = v.split(":")[0];
        if (/^(\/|\.\/|\$\{)/.test(src)) continue; // bind mount
        assert.ok(src in compose.volumes, `${name}: volume ${src} undeclared`);
        assert.match(compose.volumes[src].name, /^freshtrack_/);
      }
    }
  });

  it("every ./config bind mount has its file in the bundle", () => {
    const files = Object.keys(withWebhook.files);
    for (const [name, s] of services) {
      for (const v of s.volumes.filter((x) => x.startsWith("./"))) {
        const src = v.split(":")[0].slice(2);
        assert.ok(
          files.some((f) => f === src || f.startsWith(`${src}/`)),
          `${name}: ${src} is not rendered`,
        );
      }
    }
  });

  it("depends_on names only observability services (monitoring must run while the app is down)", () => {
    for (const [name, s] of services) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        assert.ok((OBSERVABILITY_SERVICES as string[]).includes(dep), `${name} depends on ${dep}`);
        assert.ok(["service_healthy", "service_started"].includes(cond.condition));
      }
    }
    assert.equal(compose.services.grafana.depends_on?.prometheus.condition, "service_healthy");
    assert.equal(compose.services.alloy.depends_on?.loki.condition, "service_healthy"); // logs would be dropped while Loki starts
    assert.equal(compose.services.prometheus.depends_on, undefined); // alerts evaluate even if Alertmanager is broken
  });

  it("interpolates only FT_APP_DIR / FT_SECRETS_DIR / FT_DOCKER_GID (set by bin/*); every other `$` is escaped", () => {
    const text = JSON.stringify(compose).replace(/\$\$/g, "");
    const vars = [...text.matchAll(/\$\{?([A-Za-z_]*)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(vars)].sort(), ["FT_APP_DIR", "FT_DOCKER_GID", "FT_SECRETS_DIR"]);
    assert.match(text, /\$\{FT_SECRETS_DIR:-\/srv\/freshtrack\/secrets\}/);
  });

  it("node-exporter reads the textfile directory APP_DIR/metrics", () => {
    assert.ok(compose.services["node-exporter"].volumes.includes("${FT_APP_DIR:-/srv/freshtrack}/metrics:/textfile:ro"));
    assert.ok(compose.services["node-exporter"].command?.includes("--collector.textfile.directory=/textfile"));
  });

  it("least privilege: Alloy is not root and has no Docker socket; only the allow-list proxy mounts it, read-only, as nobody + the docker group", () => {
    const alloy = compose.services.alloy;
    assert.equal(alloy.user, "65534:65534");
    assert.deepEqual(alloy.cap_drop, ["ALL"]);
    assert.ok(!alloy.volumes.some((v) => v.includes("docker.sock")), "alloy mounts the socket");
    assert.ok(!alloy.volumes.some((v) => v.startsWith("/var/lib/docker:")), "alloy mounts all of /var/lib/docker");
    assert.ok(alloy.volumes.includes("/var/lib/docker/image/overlay2/layerdb/mounts:/var/lib/docker/image/overlay2/layerdb/mounts:ro"));
    assert.deepEqual(alloy.tmpfs, ["/var/lib/alloy/data:size=64m"]);
    const alloyConfig = withWebhook.files["config/alloy.alloy"];
    assert.doesNotMatch(alloyConfig, /unix:\/\/\/var\/run\/docker\.sock/);
    assert.equal(alloyConfig.match(/"tcp:\/\/docker-socket-proxy:2375"/g)?.length, 3, "discovery, log source and cAdvisor all use the proxy");
    const proxy = compose.services["docker-socket-proxy"];
    assert.deepEqual(proxy.volumes, ["/var/run/docker.sock:/var/run/docker.sock:ro"]);
    assert.equal(proxy.user, "65534:${FT_DOCKER_GID:-65534}");
    assert.equal(proxy.read_only, true);
    assert.deepEqual(proxy.cap_drop, ["ALL"]);
    assert.match(proxy.image, /^wollomatic\/socket-proxy:1\.13\.1@sha256:[0-9a-f]{64}$/);
    assert.ok(proxy.command?.includes("-allowfrom=alloy"));
    // Only GET (and HEAD /_ping) is allowed; no POST/PUT/DELETE allow-list at all.
    assert.deepEqual(
      proxy.command?.filter((c) => /^-allow(GET|HEAD|POST|PUT|PATCH|DELETE)=/.test(c)).map((c) => c.split("=")[0]),
      ["-allowGET", "-allowHEAD"],
    );
  });

  it("the proxy's GET allow-list admits listing, inspect and logs, and refuses exec, archive, export and images", () => {
    const allow = new RegExp(`^${DOCKER_PROXY_ALLOW_GET}$`); // the proxy anchors it the same way
    for (const ok of [
      "/_ping",
      "/v1.47/version",
      "/v1.47/info",
      "/v1.47/networks",
      "/v1.47/containers/json",
      "/v1.47/containers/3f2a9c/json",
      "/v1.47/containers/freshtrack-backend-1/logs",
    ])
      assert.ok(allow.test(ok), ok);
    for (const no of [
      "/v1.47/containers/3f2a9c/archive",
      "/v1.47/containers/3f2a9c/export",
      "/v1.47/exec/abc/json",
      "/v1.47/images/json",
      "/v1.47/containers/3f2a9c/top",
      "/v1.47/secrets",
      "/v1.47/containers/x/logs/../archive",
      "/v1.47/containers/3f2a9c/json/../../../images/json",
      "/v1.47/containers/../json",
    ])
      assert.ok(!allow.test(no), no);
  });

  it("renders the same bytes twice (stable bundle hash)", () => {
    assert.deepEqual(renderObservability(observabilityInput()), withWebhook);
  });
});

describe("observability: secrets", () => {
  const everything = (r: ReturnType<typeof renderObservability>) => JSON.stringify(r.compose) + Object.values(r.files).join("\n");

  it("no secret value appears anywhere (dummy secrets are set for every variant)", () => {
    for (const r of [withWebhook, noWebhook, withEmail, withAll]) assert.doesNotMatch(everything(r), DUMMY_SECRET);
  });

  it("Grafana reads its admin password from the secret file only", () => {
    const env = compose.services.grafana.environment ?? {};
    assert.equal(env.GF_SECURITY_ADMIN_PASSWORD, undefined);
    assert.equal(env.GF_SECURITY_ADMIN_PASSWORD__FILE, "/run/secrets/grafana_admin_password");
    assert.deepEqual(compose.services.grafana.secrets, ["grafana_admin_password"]);
    assert.equal(compose.secrets?.grafana_admin_password.file, "${FT_SECRETS_DIR:-/srv/freshtrack/secrets}/grafana/admin_password");
  });

  it("no credential key carries an inline value: only *_file keys and /run/secrets paths", () => {
    const bad: string[] = [];
    // `key` is the nearest object key; compose `secrets:` lists hold secret names, not values.
    const credential = (key: string) => /password|secret|token|api_url|webhook/i.test(key) && !/(_file|__FILE|^secrets)$/.test(key);
    const walk = (v: unknown, at: string, key: string) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`, key));
      else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`, k);
      else if (credential(key) && !(typeof v === "string" && v.startsWith("/run/secrets/"))) bad.push(`${at}=${String(v)}`);
    };
    for (const r of [withWebhook, withEmail, withAll]) {
      walk(r.compose, "compose", "");
      for (const [f, c] of Object.entries(r.files)) if (f.endsWith(".yml")) walk(parse(c), f, "");
    }
    // The check can fail: an inline URL is caught.
    walk({ slack_configs: [{ api_url: "https://hooks.example/x" }] }, "probe", "");
    assert.deepEqual(bad.splice(-1), ["probe.slack_configs[0].api_url=https://hooks.example/x"]);
    assert.deepEqual(bad, []);
  });

  it("with a webhook: Slack receiver reading api_url_file from the mounted secret (uid 65534)", () => {
    const am = parse(withWebhook.files["config/alertmanager.yml"]);
    assert.equal(am.route.receiver, "operator");
    const slack = am.receivers.find((r: { name: string }) => r.name === "operator").slack_configs[0];
    assert.equal(slack.api_url_file, "/run/secrets/alertmanager_webhook_url");
    assert.equal(slack.api_url, undefined);
    assert.deepEqual(compose.services.alertmanager.secrets, ["alertmanager_webhook_url"]);
    assert.equal(compose.secrets?.alertmanager_webhook_url.file, "${FT_SECRETS_DIR:-/srv/freshtrack/secrets}/alertmanager/webhook_url");
    const sec = observabilitySecrets(observabilityInput());
    assert.deepEqual(
      sec.map((s) => [s.file, s.uid]),
      [
        ["grafana/admin_password", 472],
        ["alertmanager/webhook_url", 65534],
      ],
    );
  });

  it("with nothing to deliver through (no resendApiKey, no webhook): null receiver, and no secret file that the push would not write", () => {
    const am = parse(noWebhook.files["config/alertmanager.yml"]);
    assert.equal(am.route.receiver, "null");
    assert.deepEqual(am.receivers, [{ name: "null" }]);
    const c = noWebhook.compose;
    assert.equal(c.services.alertmanager.secrets, undefined);
    assert.deepEqual(Object.keys(c.secrets ?? {}), ["grafana_admin_password"]);
    assert.deepEqual(
      observabilitySecrets(observabilityInput({}, ["vmSshPrivateKey"])).map((s) => s.file),
      ["grafana/admin_password"],
    );
  });

  it("only operatorEmail (+ the app's resendApiKey) set: every alert is mailed to operatorEmail through Resend's SMTP relay, password from a file", () => {
    const am = parse(withEmail.files["config/alertmanager.yml"]);
    assert.equal(am.route.receiver, "operator");
    assert.equal(am.route.routes.find((r: { matchers: string[] }) => r.matchers.includes('severity="critical"')).receiver, "operator");
    const op = am.receivers.find((r: { name: string }) => r.name === "operator");
    assert.equal(op.slack_configs, undefined);
    assert.deepEqual(op.email_configs, [
      {
        to: OPERATOR_EMAIL,
        from: `alerts@${DOMAIN}`,
        smarthost: "smtp.resend.com:587",
        auth_username: "resend",
        auth_password_file: "/run/secrets/alertmanager_smtp_password",
        require_tls: true,
        send_resolved: true,
      },
    ]);
    const c = withEmail.compose;
    assert.deepEqual(c.services.alertmanager.secrets, ["alertmanager_smtp_password"]);
    assert.equal(c.secrets?.alertmanager_smtp_password.file, "${FT_SECRETS_DIR:-/srv/freshtrack/secrets}/alertmanager/smtp_password");
    assert.deepEqual(
      observabilitySecrets(observabilityInput({}, [...EMAIL_KEYS])).map((s) => [s.file, s.uid]),
      [
        ["grafana/admin_password", 472],
        ["alertmanager/smtp_password", 65534],
      ],
    );
    // The webhook alone: no mail receiver (nothing to authenticate with).
    assert.equal(parse(withWebhook.files["config/alertmanager.yml"]).receivers.find((r: { name: string }) => r.name === "operator").email_configs, undefined);
  });

  it("dead-man's switch: the Watchdog goes only to the heartbeat receiver — a daily mail by default, a 5-minute ping with alertHeartbeatUrl", () => {
    const watchdogRoute = (r: ReturnType<typeof renderObservability>) => parse(r.files["config/alertmanager.yml"]).route.routes[0];
    const receiver = (r: ReturnType<typeof renderObservability>, name: string) =>
      parse(r.files["config/alertmanager.yml"]).receivers.find((x: { name: string }) => x.name === name);
    // Mail only: once a day to operatorEmail.
    assert.deepEqual(watchdogRoute(withEmail).matchers, ['alertname="Watchdog"']);
    assert.equal(watchdogRoute(withEmail).receiver, "heartbeat");
    assert.equal(watchdogRoute(withEmail).repeat_interval, "24h");
    const mail = receiver(withEmail, "heartbeat").email_configs[0];
    assert.equal(mail.to, OPERATOR_EMAIL);
    assert.equal(mail.auth_password_file, "/run/secrets/alertmanager_smtp_password");
    assert.match(mail.headers.Subject, /heartbeat/);
    // With a heartbeat URL: pinged every 5 minutes from the secret file, and no daily mail.
    assert.equal(watchdogRoute(withAll).repeat_interval, "5m");
    assert.deepEqual(receiver(withAll, "heartbeat"), {
      name: "heartbeat",
      webhook_configs: [{ url_file: "/run/secrets/alertmanager_heartbeat_url", send_resolved: false }],
    });
    assert.deepEqual(withAll.compose.services.alertmanager.secrets, ["alertmanager_webhook_url", "alertmanager_smtp_password", "alertmanager_heartbeat_url"]);
    // Slack only: the Watchdog must not post to the operator's channel every 4 hours.
    assert.equal(watchdogRoute(withWebhook).receiver, "null");
  });

  it("observability off: no secret files needed", () => {
    assert.deepEqual(observabilitySecrets(observabilityInput({ observability: "false" })), []);
    assert.deepEqual(observabilityServiceSecrets(observabilityInput({ observability: "false" })), {});
  });

  it("secrets by service match what each service mounts", () => {
    for (const [keys, r] of [
      [["vmSshPrivateKey", "alertWebhookUrl"], withWebhook],
      [EMAIL_KEYS, withEmail],
      [ALL_KEYS, withAll],
    ] as const) {
      const bySvc = observabilityServiceSecrets(observabilityInput({}, [...keys]));
      const c = r.compose;
      for (const [svc, list] of Object.entries(bySvc))
        assert.deepEqual(
          c.services[svc as keyof typeof c.services].secrets,
          list.map((x) => x.name),
          svc,
        );
    }
  });
});

describe("observability: config files", () => {
  it("Prometheus scrapes every exporter and probes backend readiness, frontend health and the public URL", () => {
    const p = parse(withWebhook.files["config/prometheus.yml"]);
    const jobs = p.scrape_configs.map((j: { job_name: string }) => j.job_name);
    for (const j of ["prometheus", "alertmanager", "node", "blackbox-exporter", "loki", "alloy", "containers", "blackbox-internal", "blackbox-public"])
      assert.ok(jobs.includes(j), j);
    const targets = JSON.stringify(p.scrape_configs);
    assert.match(targets, /http:\/\/backend:3000\/health\/ready/);
    assert.match(targets, /http:\/\/frontend:8080\/health/);
    assert.ok(targets.includes(`https://${DOMAIN}/health/ready`));
    assert.doesNotMatch(targets, /\/metrics"[^}]*backend/); // the backend has no /metrics endpoint
    assert.deepEqual(p.rule_files, ["alerts.yml"]);
  });

  it("alert rules: the required alerts exist, each with severity, summary and description", () => {
    const rules = alertRules(observabilityInput()).flatMap((g) => g.rules);
    const names = new Set(rules.map((r) => r.alert));
    for (const n of [
      "FreshtrackCertificateExpiringSoon",
      "FreshtrackBackupStale",
      "FreshtrackBackendDown",
      "FreshtrackDiskAlmostFull",
      "FreshtrackMemoryHigh",
      "FreshtrackContainerRestarting",
    ])
      assert.ok(names.has(n), n);
    for (const r of rules) {
      assert.ok(r.annotations.summary.length > 10 && r.annotations.description.length > 20, r.alert);
      assert.ok(r.alert === "Watchdog" ? r.labels.severity === "none" : ["critical", "warning"].includes(r.labels.severity), r.alert);
    }
    const backup = rules.filter((r) => r.alert === "FreshtrackBackupStale");
    assert.deepEqual(backup.map((r) => r.labels.cause).sort(), ["missing", "stale"]);
    assert.ok(backup.some((r) => r.expr === "absent(freshtrack_backup_last_success_timestamp_seconds) unless on() freshtrack_move_app_held == 1"));
    assert.equal(rules.find((r) => r.alert === "FreshtrackBackendDown")?.for, "2m");
  });

  it("tlsMode internal: no certificate alert (Caddy's internal CA issues 12h certificates) and the probe skips verification", () => {
    const r = renderObservability(observabilityInput({ tlsMode: "internal" }));
    assert.doesNotMatch(r.files["config/alerts.yml"], /CertificateExpiringSoon/);
    const internal = parse(r.files["config/blackbox.yml"]).modules.https_public.http;
    assert.deepEqual(internal.tls_config, { insecure_skip_verify: true, server_name: DOMAIN });
    assert.deepEqual(internal.headers, { Host: DOMAIN });
    // Probed inside the network (no public DNS / hairpin NAT needed), as the domain.
    assert.match(r.files["config/prometheus.yml"], /- https:\/\/caddy\/health\/ready/);
    const acme = parse(withWebhook.files["config/blackbox.yml"]).modules.https_public.http;
    assert.deepEqual(acme.tls_config, { insecure_skip_verify: false });
    assert.equal(acme.headers, undefined);
  });

  it("Loki 3: tsdb index, schema v13, filesystem storage, retention enforced by the compactor", () => {
    const l = parse(withWebhook.files["config/loki.yml"]);
    const [schema] = l.schema_config.configs;
    assert.equal(schema.store, "tsdb");
    assert.equal(schema.schema, "v13");
    assert.equal(schema.object_store, "filesystem");
    assert.ok(l.common.storage.filesystem.chunks_directory);
    assert.equal(l.compactor.retention_enabled, true);
    assert.equal(l.compactor.delete_request_store, "filesystem");
    assert.match(l.limits_config.retention_period, /^\d+h$/);
    assert.doesNotMatch(withWebhook.files["config/loki.yml"], /boltdb/);
  });

  it("Alloy config is shipped verbatim and tails container logs into Loki", () => {
    const a = withWebhook.files["config/alloy.alloy"];
    assert.match(a, /loki\.source\.docker "containers"/);
    assert.match(a, /http:\/\/loki:3100\/loki\/api\/v1\/push/);
    assert.match(a, /prometheus\.exporter\.cadvisor "containers"/);
  });

  it("Grafana: Prometheus and Loki datasources, dashboard provider pointing at the mounted folder", () => {
    const ds = parse(withWebhook.files["config/grafana/provisioning/datasources/datasources.yml"]).datasources;
    assert.deepEqual(
      ds.map((d: { type: string; url: string }) => [d.type, d.url]),
      [
        ["prometheus", "http://prometheus:9090"],
        ["loki", "http://loki:3100"],
      ],
    );
    const prov = parse(withWebhook.files["config/grafana/provisioning/dashboards/freshtrack.yml"]);
    assert.equal(prov.providers[0].options.path, "/etc/grafana/dashboards");
    assert.ok(compose.services.grafana.volumes.includes("./config/grafana/dashboards:/etc/grafana/dashboards:ro"));
  });

  it("the dashboard shows up/down, probe latency, cert days, backup age, disk/CPU/memory and container logs", () => {
    const d = JSON.parse(withWebhook.files["config/grafana/dashboards/freshtrack.json"]);
    assert.equal(d.uid, "freshtrack");
    const exprs = JSON.stringify(d.panels.map((p: { targets: unknown }) => p.targets));
    for (const m of [
      'probe_success{job=\\"blackbox-internal\\",probe=\\"backend\\"}',
      "probe_duration_seconds",
      "probe_ssl_earliest_cert_expiry",
      "freshtrack_backup_last_success_timestamp_seconds",
      "node_filesystem_avail_bytes",
      "node_cpu_seconds_total",
      "node_memory_MemAvailable_bytes",
    ]) {
      assert.ok(exprs.includes(m), m);
    }
    const logs = d.panels.find((p: { type: string }) => p.type === "logs");
    assert.equal(logs.datasource.uid, "loki");
    const ids = d.panels.map((p: { id: number }) => p.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids unique");
  });
});
