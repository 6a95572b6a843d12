// Tag -> digest at preview/up, through @pulumi/docker's registry lookup
// (docker.getRegistryImage): the release then names the exact bytes each tag
// pointed at when it was deployed, and a rollback brings those bytes back even if
// the tag has been re-pushed since. `imageDigests: false` turns it off (air-gapped
// hosts, stand-in images no registry holds): references are shipped as configured.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BundleInput } from "../../compose/bundle-input";
import { ReleaseManifest, renderBundle } from "../../compose/bundle";
import { hasDigest, pinImageSettings, withDigest } from "../../core/images";
import { AppSettings, FreshtrackConfig } from "../../core/config";
import type { UserSecrets } from "../../core/load-config";

/** The invoke the lookups go through (the mocks answer it; tests look for it). */
export const REGISTRY_IMAGE_TOKEN = "docker:index/getRegistryImage:getRegistryImage";

export interface ImageDigestsArgs {
  enabled: boolean;
  /** Private registry login for the lookups (the token stays a secret Output). */
  registry?: { server: string; user: string; token: pulumi.Input<string> };
}

/** The stack's settings for the lookups: `imageDigests` and the registry login, if configured. */
export function imageDigestsArgs(config: FreshtrackConfig, userSecrets: UserSecrets): ImageDigestsArgs {
  const r = config.app.registry;
  const token = userSecrets.registryToken;
  return { enabled: config.app.imageDigests, registry: r && token ? { server: r.server, user: r.user, token } : undefined };
}

/** One docker provider per stack, used only for registry lookups: it never talks to a Docker engine. */
export class ImageDigests {
  private readonly provider?: docker.Provider;
  private readonly cache = new Map<string, pulumi.Output<string>>();
  public readonly enabled: boolean;

  constructor(
    name: string,
    args: ImageDigestsArgs,
    private readonly parent: pulumi.Resource,
  ) {
    this.enabled = args.enabled;
    if (!this.enabled) return;
    // The deploying machine needs no Docker engine: the lookups talk to registries only.
    const auth = args.registry ? [{ address: args.registry.server, username: args.registry.user, password: pulumi.secret(args.registry.token) }] : undefined;
    this.provider = new docker.Provider(name, { disableDockerDaemonCheck: true, registryAuth: auth }, { parent });
  }

  /** `name:tag@sha256:…` for one reference; a reference that carries a digest is kept, unlooked-up. */
  pin(ref: string): pulumi.Output<string> {
    if (!this.enabled || hasDigest(ref)) return pulumi.output(ref);
    let out = this.cache.get(ref);
    if (!out) {
      out = docker.getRegistryImageOutput({ name: ref }, { provider: this.provider, parent: this.parent }).apply((r) => withDigest(ref, r.sha256Digest));
      this.cache.set(ref, out);
    }
    return out;
  }

  /** reference -> pinned reference, for every distinct reference given. */
  pinAll(refs: string[]): pulumi.Output<Record<string, string>> {
    const distinct = [...new Set(refs)].sort();
    return pulumi.all(distinct.map((r) => this.pin(r))).apply((pinned) => Object.fromEntries(distinct.map((r, i) => [r, pinned[i]])));
  }

  /** The app settings with every image reference it names (app and infrastructure) pinned. */
  pinApp(app: AppSettings, refs: string[]): pulumi.Output<AppSettings> {
    if (!this.enabled) return pulumi.output(app);
    return this.pinAll(refs).apply((pinned) => pinImageSettings(app, pinned));
  }

  /**
   * The release bundle with every image it runs pinned. The images are the ones the
   * bundle itself lists (release.json), so an image added to the stack later is
   * pinned without anyone keeping a second list.
   */
  bundle(input: BundleInput): pulumi.Output<Record<string, string>> {
    const first = renderBundle(input);
    if (!this.enabled) return pulumi.output(first);
    const refs = Object.values(releaseImages(first));
    return this.pinApp(input.config.app, refs).apply((app) => {
      const files = renderBundle({ ...input, config: { ...input.config, app } });
      const unpinned = Object.entries(releaseImages(files)).filter(([, ref]) => !hasDigest(ref));
      if (unpinned.length) throw new Error(`image digests: ${unpinned.map(([svc, ref]) => `${svc} (${ref})`).join(", ")} left without a digest`);
      return files;
    });
  }
}

/** service -> image of a rendered bundle, from its release.json. */
export function releaseImages(files: Record<string, string>): Record<string, string> {
  return (JSON.parse(files["release.json"]) as ReleaseManifest).images;
}
