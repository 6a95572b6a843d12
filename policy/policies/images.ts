// images-pinned: every image we run is a fixed version. A moving tag makes a
// redeploy or a rollback silently run different code than the one reviewed,
// and `bin/rollback` could not go back to what actually ran before.
import { parseAllDocuments } from "yaml";
import { definePolicy, Res } from "../lib/types";
import { archiveFiles, asArray, asRecord, isRecord, isUnknown, str } from "../lib/values";

export const TYPES = {
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  copyToRemote: "command:remote:CopyToRemote",
  dockerImage: "docker:index/remoteImage:RemoteImage",
  dockerContainer: "docker:index/container:Container",
};

/** Why `ref` is not a pinned image reference, or undefined when it is. */
export function imagePinProblem(ref: string): string | undefined {
  const r = ref.trim();
  if (r === "") return "is empty";
  if (r.includes("${") || r.includes("$")) return "is interpolated at run time, so the bundle does not say what runs";
  if (/@sha256:[a-f0-9]{64}$/.test(r)) return undefined;
  if (r.includes("@")) return "has a malformed digest (expected @sha256:<64 hex>)";
  const lastSlash = r.lastIndexOf("/");
  const colon = r.indexOf(":", lastSlash + 1);
  if (colon < 0) return "has no tag (Docker pulls :latest)";
  const tag = r.slice(colon + 1);
  if (tag === "") return "has an empty tag";
  if (tag.toLowerCase() === "latest") return "uses the moving tag :latest";
  return undefined;
}

const COMPOSE_FILE = /(^|\/)(docker-)?compose[^/]*\.ya?ml$/;

/** Image references of a Compose file: [service, image]. Throws on invalid YAML. */
export function composeImages(text: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(doc.errors[0].message.split("\n")[0]);
    const services = asRecord(asRecord(doc.toJS()).services);
    for (const [name, svc] of Object.entries(services)) {
      if (isRecord(svc) && "image" in svc) out.push([name, svc.image]);
    }
  }
  return out;
}

function check(where: string, image: unknown, out: string[]) {
  if (isUnknown(image)) return;
  if (typeof image !== "string") {
    out.push(`${where} has no image reference (${JSON.stringify(image)}).`);
    return;
  }
  const problem = imagePinProblem(image);
  if (problem) out.push(`${where} image "${image}" ${problem}.`);
}

export const imagesPinned = definePolicy({
  name: "images-pinned",
  description: "Every container image is pinned to a version tag or a digest: never :latest, never untagged.",
  enforcementLevel: "mandatory",
  why: "A moving tag changes what runs without a diff: redeploys and rollbacks stop being reproducible, which is how readings get lost after a 'no-op' restart.",
  remediation:
    "Pin the image: a version tag (ghcr.io/org/frostguard-backend:1.8.2) or a digest (…@sha256:…). App images come from backendImage/workerImage/frontendImage, infrastructure images from core/images.ts (imageOverrides).",
  types: Object.values(TYPES),
  defaults: {},
  validateResource: (r: Res) => {
    const out: string[] = [];
    if (r.type === TYPES.taskDefinition) {
      const defs = r.props.containerDefinitions;
      if (isUnknown(defs) || defs === undefined) return out;
      let parsed: unknown;
      try {
        parsed = typeof defs === "string" ? JSON.parse(defs) : defs;
      } catch {
        return [`containerDefinitions is not valid JSON, so its images cannot be checked.`];
      }
      for (const [i, c] of asArray(parsed).entries()) {
        const def = asRecord(c);
        check(`containerDefinitions[${typeof def.name === "string" ? def.name : i}]`, def.image, out);
      }
    } else if (r.type === TYPES.copyToRemote) {
      let files: Record<string, string>;
      try {
        files = archiveFiles(r.props.source);
      } catch (e) {
        return [`source is a malformed bundle payload (${(e as Error).message}), so its images cannot be checked.`];
      }
      for (const [path, text] of Object.entries(files).sort()) {
        if (COMPOSE_FILE.test(path)) {
          let images: [string, unknown][];
          try {
            images = composeImages(text);
          } catch (e) {
            out.push(`source ${path} is not valid YAML (${(e as Error).message}), so its images cannot be checked.`);
            continue;
          }
          for (const [svc, image] of images) check(`source ${path} service ${svc}`, image, out);
        } else if (/(^|\/)release\.json$/.test(path)) {
          // release.json lists the images the on-host scripts pull; it must agree with the compose files' pinning.
          let release: unknown;
          try {
            release = JSON.parse(text);
          } catch {
            out.push(`source ${path} is not valid JSON.`);
            continue;
          }
          for (const [svc, image] of Object.entries(asRecord(asRecord(release).images))) check(`source ${path} images.${svc}`, image, out);
        }
      }
    } else if (r.type === TYPES.dockerImage) {
      check("name", str(r.props.name), out);
    } else if (r.type === TYPES.dockerContainer) {
      check("image", str(r.props.image), out);
    }
    return out;
  },
});
