// Validates a rendered user_data against cloud-init's own published JSON schema
// (vendored with its version and source in tests/fixtures/cloud-init/README.md).
// The schema is JSON Schema draft-04; ajv 6 reads it with the draft-04 meta-schema.
import Ajv from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const SCHEMA_FILE = path.resolve(__dirname, "..", "fixtures", "cloud-init", "schema-cloud-config-v1.json");
let validate: Ajv.ValidateFunction | undefined;

/** Schema violations of a `#cloud-config` document, as "path: message" lines (empty when valid). */
export function cloudConfigSchemaErrors(userData: string): string[] {
  if (!userData.startsWith("#cloud-config\n")) return ["(document): does not start with #cloud-config"];
  if (!validate) {
    // draft-04 ignores keywords next to $ref, as cloud-init's validator does; ajv would log each one.
    const ajv = new Ajv({ schemaId: "auto", allErrors: true, logger: false });
    ajv.addMetaSchema(require("ajv/lib/refs/json-schema-draft-04.json") as object);
    validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as object);
  }
  if (validate(parse(userData))) return [];
  return (validate.errors ?? []).map((e) => `${e.dataPath || "(document)"}: ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}
