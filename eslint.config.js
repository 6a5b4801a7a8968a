// Lint rules: typescript-eslint's type-checked set, plus the rule that only src/host and breeder/ touch the world.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

const effectModules = [
  "execa",
  "node-pty",
  "got",
  "tar",
  "node:child_process",
  "node:fs",
  "node:fs/promises",
  "node:net",
];

export default defineConfig(
  { ignores: ["dist/", "node_modules/", "images/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js", "scripts/bundle.mjs"] } },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // node:test's test() returns a promise that the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", name: ["test", "describe", "it"], package: "node:test" }] },
      ],
    },
  },
  {
    files: ["src/core/**", "src/config/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: effectModules.map((name) => ({
            name,
            message: "Pure modules take facts as arguments; effects live in src/host/.",
          })),
        },
      ],
    },
  },
);
