// DigitalOcean tags are plain strings (letters, digits, colon, dash, underscore):
// the shared base tags become `key:value`.

export function doTags(tags: Record<string, string>): string[] {
  return Object.entries(tags).map(([k, v]) => `${k}:${v}`.toLowerCase().replace(/[^a-z0-9:_-]/g, "-"));
}
