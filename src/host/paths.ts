// Where things live: the package's own folders, the image folders and the user's cache.
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { accessSync, constants, existsSync, statSync } from "node:fs";
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
/** The package's own images/ (a checkout's, or an installed package's). */
export const packageImagesDir = join(packageRoot, "images");

/** $XDG_DATA_HOME/tsminc/images, or ~/.local/share/tsminc/images: a user's images when the package folder is not theirs. */
export function userImagesDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME ? resolve(env.XDG_DATA_HOME) : join(homedir(), ".local", "share");
  return join(base, "tsminc", "images");
}

/** Whether `dir` (or, while it does not exist, the folder it would be made in) is owned by `uid` and writable. */
export function ownedAndWritable(dir: string, uid: number): boolean {
  const judged = existsSync(dir) ? dir : dirname(dir);
  try {
    if (statSync(judged).uid !== uid) return false;
    accessSync(judged, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where tsermine breed writes and tsminc looks first (unless --out or --ermine says): the package's
 * images/ when that folder is ours and writable (a checkout, a package the user installed), else the
 * per-user data folder (a package root installed for everyone, or a read-only one).
 */
export const defaultImagesDir: string = ownedAndWritable(packageImagesDir, process.getuid?.() ?? -1)
  ? packageImagesDir
  : userImagesDir();

/** The image folders tsminc searches without --ermine: where breed writes, then the other one (e.g. root's images of a shared install). */
export const imageSearchDirs: readonly string[] = [...new Set([defaultImagesDir, packageImagesDir, userImagesDir()])];

/** ~/.cache/tsminc, or $TSMINC_CACHE, or $XDG_CACHE_HOME/tsminc. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSMINC_CACHE) return resolve(env.TSMINC_CACHE);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(base, "tsminc");
}
