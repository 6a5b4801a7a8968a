// Where things live: the package's own folders and the user's cache.
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder above this file holding package.json (works from src/ and dist/src/). */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("tsminc: cannot find its package.json");
    dir = up;
  }
  return dir;
})();

export const guestInitDir = join(packageRoot, "guest-init");
export const kernelConfigDir = join(packageRoot, "kernel-configs");
export const busyboxConfigFile = join(packageRoot, "breeder", "busybox.config");
export const defaultImagesDir = join(packageRoot, "images");

/** ~/.cache/tsminc, or $TSMINC_CACHE, or $XDG_CACHE_HOME/tsminc. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSMINC_CACHE) return resolve(env.TSMINC_CACHE);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(base, "tsminc");
}
