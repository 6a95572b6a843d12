// Image digests under mocks: with imageDigests on (the default) every image of every
// release (the Compose bundle on vm and digitalocean, every ECS container) is shipped as
// `name:tag@sha256:…`, the digest being the one the registry lookup (answered by the
// mocks) returned for that exact reference. Off: no lookup at all, tags as configured.
import { strict as assert } from "assert";
import { parseAllDocuments } from "yaml";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { REGISTRY_IMAGE_TOKEN } from "../../components/shared/image-digests";
import { IMAGES } from "../../core/images";
import { PlanResult, mockImageDigest } from "../../scripts/lib/program";
import { mustPlan, ofType } from "../helpers/plan";

const DIGEST = /@sha256:[a-f0-9]{64}$/;
const PINNED_PG = `registry.local/postgres:16.10-alpine@sha256:${"ab".repeat(32)}`;
/** References the image table already pins by digest: shipped as they are, never looked up. */
const PINNED_IN_TABLE = new Set<string>(
  Object.values(IMAGES)
    .map((s): string => s.image)
    .filter((i) => DIGEST.test(i)),
);
const DO_BASE = { doSshCidrs: ["198.51.100.7/32"] };

/** Files of the bundle the program pushes. */
function bundleOf(r: PlanResult): Record<string, string> {
  const copies = r.resources.filter((x) => x.type === "command:remote:CopyToRemote");
  assert.equal(copies.length, 1, "one bundle copy");
  return copiedFiles(copies[0].inputs.source);
}

/** Every image a release runs: release.json's table and every `image:` of every Compose file. */
function bundleImages(files: Record<string, string>): string[] {
  const out = Object.values((JSON.parse(files["release.json"]) as { images: Record<string, string> }).images);
  for (const [name, text] of Object.entries(files)) {
    if (!/^compose[^/]*\.yml$/.test(name)) continue;
    for (const doc of parseAllDocuments(text)) {
      const services = (doc.toJS() as { services?: Record<string, { image?: string }> }).services ?? {};
      for (const s of Object.values(services)) if (s.image) out.push(s.image);
    }
  }
  return out;
}

/** Every image of every ECS container definition. */
function ecsImages(r: PlanResult): string[] {
  return ofType(r, "aws:ecs/taskDefinition:TaskDefinition").flatMap((td) =>
    (JSON.parse(td.inputs.containerDefinitions as string) as { image: string }[]).map((c) => c.image),
  );
}

const lookups = (r: PlanResult) => r.invokes.filter((i) => i.token === REGISTRY_IMAGE_TOKEN).map((i) => String(i.inputs.name));

/** The image carries exactly the digest the registry lookup returned for its tag. */
function assertPinnedByLookup(images: string[], r: PlanResult, where: string) {
  assert.ok(images.length > 0, `${where}: images found`);
  const looked = new Set(lookups(r));
  for (const image of images) {
    assert.match(image, DIGEST, `${where}: ${image} has no digest`);
    const ref = image.replace(DIGEST, "");
    if (image === PINNED_PG || PINNED_IN_TABLE.has(image)) continue;
    assert.ok(looked.has(ref), `${where}: ${ref} was never looked up`);
    assert.equal(image, `${ref}@${mockImageDigest(ref)}`, `${where}: ${ref} carries the digest the registry returned`);
  }
}

describe("stacks: image digests (imageDigests on by default)", () => {
  it("vm: every image of the release (release.json and every Compose file) is name:tag@sha256 from the lookup", () => {
    const r = mustPlan("vm");
    const images = bundleImages(bundleOf(r));
    assertPinnedByLookup(images, r, "vm");
    // With observability on, the vm release runs every infrastructure image of the table.
    for (const spec of Object.values(IMAGES))
      assert.ok(
        images.some((i) => i === spec.image || i.startsWith(`${spec.image}@sha256:`)),
        `${spec.image} in the release`,
      );
    // Each distinct reference is looked up once, through the lookup-only provider.
    const looked = lookups(r);
    assert.equal(new Set(looked).size, looked.length, "no reference looked up twice");
    const provider = ofType(r, "pulumi:providers:docker");
    assert.equal(provider.length, 1);
    assert.equal(provider[0].inputs.disableDockerDaemonCheck, "true", "the deploying machine needs no Docker engine");
  });

  it("digitalocean: every image of the droplet's release carries the looked-up digest", () => {
    const r = mustPlan("do", DO_BASE);
    assertPinnedByLookup(bundleImages(bundleOf(r)), r, "digitalocean");
  });

  it("aws: every container of every task definition (app, migrate, init, db-setup) carries the looked-up digest", () => {
    const r = mustPlan("aws");
    const images = ecsImages(r);
    assertPinnedByLookup(images, r, "aws");
    assert.ok(
      images.some((i) => i.startsWith(`${IMAGES.postgres.image}@sha256:`)),
      "db-setup's postgres is pinned too",
    );
  });

  it("an image already pinned by digest is kept as it is and not looked up", () => {
    const over = { imageOverrides: [`postgres=${PINNED_PG}`] };
    for (const [stack, set] of [
      ["vm", over],
      ["aws", over],
    ] as const) {
      const r = mustPlan(stack, set);
      const images = stack === "vm" ? bundleImages(bundleOf(r)) : ecsImages(r);
      assert.ok(images.includes(PINNED_PG), `${stack}: the pinned override ships unchanged`);
      assert.ok(!lookups(r).some((n) => n.startsWith("registry.local/postgres")), `${stack}: no lookup for a pinned reference`);
      assertPinnedByLookup(images, r, stack);
    }
  });

  it("imageDigests false: no lookup, no docker provider, tags shipped as configured", () => {
    for (const [stack, set] of [
      ["vm", {}],
      ["do", DO_BASE],
      ["aws", {}],
    ] as const) {
      const r = mustPlan(stack, { ...set, imageDigests: false });
      assert.deepEqual(lookups(r), [], `${stack}: no lookup`);
      assert.equal(ofType(r, "pulumi:providers:docker").length, 0, `${stack}: no docker provider`);
      const images = stack === "aws" ? ecsImages(r) : bundleImages(bundleOf(r));
      assert.ok(images.length > 0);
      for (const i of images) if (!PINNED_IN_TABLE.has(i)) assert.doesNotMatch(i, DIGEST, `${stack}: ${i}`);
      assert.ok(images.includes(IMAGES.postgres.image), `${stack}: postgres as tagged`);
    }
  });
});
