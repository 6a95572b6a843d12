// The release directory pushed to a vm/digitalocean host, as path -> content.
// Pure: the same input always renders byte-identical files, so the push's
// content hash changes only when something in the bundle really changed.
import { FreshtrackConfig } from "../components/shared/config";

export interface BundleInput {
  config: FreshtrackConfig;
  target: "vm" | "digitalocean";
  /** Object storage as the app and the backup job see it. */
  objectStore: {
    /** Public endpoint browsers reach (presigned URLs are built from it), e.g. https://s3.app.example */
    publicEndpoint: string;
    /** Endpoint the backup job uses (in-network on vm, Spaces on digitalocean). */
    internalEndpoint: string;
    region: string;
    assetsBucket: string;
    backupsBucket: string;
  };
  /** digitalocean only: the managed database, reached over the private network with TLS. */
  managedDb?: { host: string; port: number; database: string; maxConnections: number };
}

/** Renders every file of the release directory. Filled in by the compose issue. */
export function renderBundle(input: BundleInput): Record<string, string> {
  const release = { target: input.target, compose_files: [] as string[], profiles: [] as string[] };
  return { "release.json": JSON.stringify(release, null, 2) + "\n" };
}
