import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "**/*.js", "!scripts/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", require: "readonly", __dirname: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  // Layers point one way: core (config, naming, images, app model) <- compose (renderers)
  // <- components (targets) <- index.ts. Nothing lower imports anything higher.
  layer("core/**", ["compose", "components"], "core/ holds config, naming, images and the app model: it imports no renderer and no component"),
  layer("compose/**", ["components"], "compose/ renders from core/: move what it needs from components/ into core/"),
  layer("components/**", ["index"], "components/ must not import the program entry point"),
);

/** An ESLint block forbidding files matching `files` to import from the given top-level folders. */
function layer(files, forbidden, message) {
  const group = forbidden.flatMap((f) => [`**/${f}`, `**/${f}/**`, `./${f}`, `./${f}/**`]);
  return { files: [files], rules: { "no-restricted-imports": ["error", { patterns: [{ group, message }] }] } };
}
