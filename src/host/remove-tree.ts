// Deleting a folder tree that may hold folders shut to their owner (an image root unpacked by a
// user: 0555 and 0500 folders of the image), never following a symlink.
import { chmodSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Gives the owner rwx on every real folder at and under `path` (a no-op for folders not ours). */
function openUp(path: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory() !== true) return;
  if ((st.mode & 0o700) !== 0o700) {
    try {
      chmodSync(path, (st.mode & 0o7777) | 0o700);
    } catch {
      return;
    }
  }
  for (const name of readdirSync(path)) openUp(join(path, name));
}

/** rm -rf, and for a user whose tree has folders it may not write: open them up, then again. */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES" && (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
    openUp(path);
    rmSync(path, { recursive: true, force: true });
  }
}
