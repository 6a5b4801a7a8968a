// Resolves a path inside a root folder as if that folder were /: symlinks, absolute or relative,
// never lead outside it. Used to look at a rootfs from the host (e.g. its /bin/sh).
import { lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** The host path of `path` inside `root`, every symlink followed within root; undefined if missing or looping. */
export function resolveInRoot(root: string, path: string): string | undefined {
  let resolved: string[] = [];
  let pending = path.split("/").filter(Boolean);
  for (let hops = 0; pending.length > 0;) {
    const name = pending.shift() as string;
    if (name === ".") continue;
    if (name === "..") {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, name);
    let isLink: boolean;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      return undefined;
    }
    if (!isLink) {
      resolved.push(name);
      continue;
    }
    if (++hops > 40) return undefined;
    const target = readlinkSync(host);
    if (target.startsWith("/")) resolved = [];
    pending = [...target.split("/").filter(Boolean), ...pending];
  }
  return join(root, ...resolved);
}
