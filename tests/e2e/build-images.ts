// `ts-node --transpile-only tests/e2e/build-images.ts`: builds (or reuses) every stand-in and prints the tags.
import { APP_STAND_INS, INFRA_STAND_INS } from "./stand-ins";
import { buildStandIn, ensureBaseImage } from "./lib/build";

ensureBaseImage();
const only = process.argv.slice(2);
for (const s of [...INFRA_STAND_INS, ...APP_STAND_INS]) if (!only.length || only.includes(s.key)) console.log(`${s.key}=${buildStandIn(s)}`);
