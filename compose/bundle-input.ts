// What the release renderers need to know about one stack: the validated config,
// the target and where its object storage and database are. Its own module so the
// renderers (compose/render/*) and the bundle that calls them import it one way.
import { FreshtrackConfig } from "../core/config";

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
  managedDb?: {
    host: string;
    port: number;
    database: string;
    maxConnections: number;
    /** The cluster's CA certificate (PEM, public): PgBouncer verifies the server against it (verify-full). */
    caCert: string;
  };
  /** The public address in front of the host when it is not on one of its interfaces (digitalocean: the reserved IP). */
  publicIp?: string;
}
