// Bundles the tsminc CLI (tsc's output) into dist/bundle/tsminc.cjs, the file npm installs as `tsminc`.
// CommonJS, not ES modules: node 20 starts a CommonJS file about 5 ms sooner (no ESM loader, no
// module graph to link), which is a tenth of ns mode's own time. The rarely used parts (the VM
// launcher, the pseudo-terminal, gc) stay lazy: esbuild turns their `await import()` into an
// initializer that runs on first use.
import { build } from "esbuild";

await build({
  entryPoints: ["dist/src/cli/tsminc.js"],
  outfile: "dist/bundle/tsminc.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // From node_modules at run time: node-pty, a native addon, only for --qemu on a terminal; got and tar,
  // only for pulling and unpacking images, by import() (got is ES modules only). Bundled, they made
  // the file 7 times larger and every run 10 ms slower to start.
  external: ["node-pty", "got", "tar"],
  // The sources find the package's folders and load node:crypto from import.meta.url.
  define: { "import.meta.url": "__tsmincUrl" },
  // "use strict" first, as the ES modules were: the banner goes above esbuild's own.
  banner: { js: '"use strict";\nconst __tsmincUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
});
