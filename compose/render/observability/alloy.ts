// Alloy's config (config.alloy): container logs to Loki and cAdvisor, with the Docker API
// reached only through docker-socket-proxy. A static file with no per-customer content.
import * as fs from "fs";
import * as path from "path";

export const ALLOY_CONFIG_PATH = path.join(__dirname, "..", "..", "files", "observability", "config.alloy");

export const alloyConfig = (): string => fs.readFileSync(ALLOY_CONFIG_PATH, "utf8");
