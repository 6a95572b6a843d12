// Pure helpers behind image digests and registry logins (compose/images.ts).
import { strict as assert } from "assert";
import { IMAGES, hasDigest, imageFor, pinImageSettings, registryOf, withDigest } from "../../core/images";

const D = `sha256:${"0f".repeat(32)}`;

describe("unit: image pins", () => {
  it("withDigest appends the registry's digest, keeps an existing one, refuses anything that is not sha256", () => {
    assert.equal(withDigest("caddy:2.10.2-alpine", D), `caddy:2.10.2-alpine@${D}`);
    const pinned = `ghcr.io/o/b:1@sha256:${"ab".repeat(32)}`;
    assert.equal(withDigest(pinned, D), pinned);
    assert.ok(hasDigest(pinned) && !hasDigest("ghcr.io/o/b:1"));
    assert.throws(() => withDigest("caddy:2", ""), /not a sha256 digest/);
    assert.throws(() => withDigest("caddy:2", "sha256:xyz"), /not a sha256 digest/);
  });

  it("pinImageSettings pins app images and every infrastructure image (through overrides), and nothing else", () => {
    const app = {
      images: { backend: "ghcr.io/o/b:1", worker: "ghcr.io/o/w:1", frontend: "ghcr.io/o/f:1" },
      imageOverrides: { postgres: "registry.local/postgres:16" },
      other: 1,
    };
    const pinned = pinImageSettings(app, {
      "ghcr.io/o/b:1": `ghcr.io/o/b:1@${D}`,
      "registry.local/postgres:16": `registry.local/postgres:16@${D}`,
      [IMAGES.caddy.image]: `${IMAGES.caddy.image}@${D}`,
    });
    assert.equal(pinned.images.backend, `ghcr.io/o/b:1@${D}`);
    assert.equal(pinned.images.worker, "ghcr.io/o/w:1", "not looked up: unchanged");
    assert.equal(imageFor("postgres", pinned.imageOverrides), `registry.local/postgres:16@${D}`);
    assert.equal(imageFor("caddy", pinned.imageOverrides), `${IMAGES.caddy.image}@${D}`);
    assert.equal(imageFor("redis", pinned.imageOverrides), IMAGES.redis.image);
    assert.equal(pinned.other, 1);
    assert.deepEqual(app.imageOverrides, { postgres: "registry.local/postgres:16" }, "input untouched");
  });

  it("registryOf: the host Docker pulls from", () => {
    assert.equal(registryOf("ghcr.io/o/b:1"), "ghcr.io");
    assert.equal(registryOf("registry.local:5000/x:1"), "registry.local:5000");
    assert.equal(registryOf("localhost/x:1"), "localhost");
    assert.equal(registryOf("grafana/loki:3.5.5"), "docker.io");
    assert.equal(registryOf("postgres:16"), "docker.io");
  });
});
