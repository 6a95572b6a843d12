// Spaces (S3-compatible object storage) as plain data: where the buckets live,
// how long backups are kept, and the CORS rule browsers need for presigned uploads.

/**
 * Regions with Spaces. A region without Spaces uses the nearest one that has it
 * (nyc1 -> nyc3); the buckets are then reached over the public endpoint, which
 * is what the app does anyway (presigned URLs are opened by browsers).
 */
export const SPACES_REGIONS = ["ams3", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1", "atl1"] as const;
const NEAREST_SPACES: Record<string, string> = { nyc1: "nyc3" };

export function spacesRegion(region: string): string {
  if ((SPACES_REGIONS as readonly string[]).includes(region)) return region;
  const near = NEAREST_SPACES[region];
  if (!near) throw new Error(`no Spaces region known for ${region}`);
  return near;
}

/** The S3 endpoint of a Spaces region. Path-style (endpoint/bucket/key), as the app addresses it. */
export function spacesEndpoint(region: string): string {
  return `https://${spacesRegion(region)}.digitaloceanspaces.com`;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  abortIncompleteMultipartUploadDays: number;
  expiration?: { days: number };
  noncurrentVersionExpiration?: { days: number };
}

/** Assets are customer data: they never expire; only abandoned multipart uploads are cleaned up. */
export function assetsLifecycle(): LifecycleRule[] {
  return [{ id: "abort-incomplete-uploads", enabled: true, abortIncompleteMultipartUploadDays: 7 }];
}

/** Dumps expire after the retention period, so the bucket does not grow forever. */
export function backupsLifecycle(retentionDays: number): LifecycleRule[] {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`backup retention must be a whole number of days, got ${retentionDays}`);
  // Versioned bucket: a dump overwritten or deleted stays recoverable as a noncurrent version for the full retention.
  return [
    {
      id: "expire-old-dumps",
      enabled: true,
      abortIncompleteMultipartUploadDays: 1,
      expiration: { days: retentionDays },
      noncurrentVersionExpiration: { days: retentionDays },
    },
  ];
}

export interface CorsRule {
  id: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

/** Browsers on the app's origin may PUT/POST presigned uploads and GET/HEAD objects; no other origin. */
export function assetsCors(domain: string): CorsRule[] {
  return [
    {
      id: "app-presigned",
      allowedOrigins: [`https://${domain}`],
      allowedMethods: ["GET", "HEAD", "PUT", "POST"],
      allowedHeaders: ["*"],
      exposeHeaders: ["ETag"],
      maxAgeSeconds: 3000,
    },
  ];
}

export type SpacesPermission = "read" | "readwrite" | "fullaccess";
export interface SpacesGrant<B> {
  bucket: B;
  permission: SpacesPermission;
}

/** The app's key: its own bucket only. No grant on the backups bucket, so a compromised app cannot read or delete a backup. */
export function appKeyGrants<B>(assets: B): SpacesGrant<B>[] {
  return [{ bucket: assets, permission: "readwrite" }];
}

/**
 * The backup job's key (secrets/backup/rclone.conf, root only). Spaces has no
 * "write without delete" (readwrite includes delete): versioning plus the
 * noncurrent-version lifecycle of backupsLifecycle keep a deleted or overwritten
 * backup recoverable for the retention. The assets grant is readwrite, not read:
 * `bin/restore --uploads` copies a backup's uploads back into the app's bucket with
 * this key (server-side, one credential on both buckets).
 */
export function backupKeyGrants<B>(assets: B, backups: B): SpacesGrant<B>[] {
  return [
    { bucket: backups, permission: "readwrite" },
    { bucket: assets, permission: "readwrite" },
  ];
}
