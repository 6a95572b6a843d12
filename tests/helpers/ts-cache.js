// `node -r ./tests/helpers/ts-cache.js X.ts`: runs TypeScript the way
// `ts-node/register/transpile-only` does (ts.transpileModule with tsconfig.json's
// options, one file at a time, no type check), but keeps each file's output in a
// cache keyed by the file's content, and turns on Node's compile cache for the
// JavaScript V8 compiles. The test harness starts one process per program run
// (tests/helpers/plan.ts); without the cache each of them spent most of its time
// loading TypeScript and transpiling the same ~150 files again.
// Plain JavaScript on purpose: it must load without a TypeScript loader.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const CACHE = process.env.FT_TS_CACHE || path.join(os.tmpdir(), "freshtrack-ts-cache");

// V8 bytecode of every module (SDKs included), reused by the next process (Node >= 22.1).
if (typeof Module.enableCompileCache === "function") Module.enableCompileCache(path.join(CACHE, "v8"));
// Stack traces point at the TypeScript lines (inline source maps below), except in
// the plan children: Pulumi captures a stack trace per resource, and mapping them
// took a fifth of a run.
if (process.env.FT_TS_SOURCE_MAPS !== "0") process.setSourceMapsEnabled(true);

const tsconfigText = fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8");
const tsVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;
let compilerOptions; // parsed on the first cache miss only: loading TypeScript costs ~0.5 s

function transpile(source, filename) {
  const ts = require("typescript");
  if (!compilerOptions) {
    const parsed = ts.parseJsonConfigFileContent(ts.parseConfigFileTextToJson("tsconfig.json", tsconfigText).config, ts.sys, ROOT);
    // As ts-node overrides them: CommonJS output with the source map inline, nothing else emitted.
    compilerOptions = {
      ...parsed.options,
      module: ts.ModuleKind.CommonJS,
      sourceMap: false,
      inlineSourceMap: true,
      inlineSources: true,
      declaration: false,
      declarationMap: false,
      noEmit: false,
      outDir: undefined,
    };
  }
  const out = ts.transpileModule(source, { fileName: filename, compilerOptions, reportDiagnostics: false });
  return out.outputText;
}

function compiled(source, filename) {
  const key = crypto.createHash("sha256").update(`${tsVersion}\0${tsconfigText}\0${filename}\0${source}`).digest("hex");
  const file = path.join(CACHE, "js", key.slice(0, 2), `${key}.js`);
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    // not cached yet
  }
  const js = transpile(source, filename);
  // Several processes may fill the cache at once: write aside, then rename (atomic).
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, js);
  fs.renameSync(tmp, file);
  return js;
}

require.extensions[".ts"] = function (module, filename) {
  // Like ts-node: packages are never transpiled.
  if (filename.includes(`${path.sep}node_modules${path.sep}`)) return require.extensions[".js"](module, filename);
  module._compile(compiled(fs.readFileSync(filename, "utf8"), filename), filename);
};
