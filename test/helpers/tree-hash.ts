// A hash of a whole folder tree: names, types, modes, owners, sizes, link targets and file bytes.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export function treeHash(root: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string) => {
    const path = join(root, rel);
    const st = lstatSync(path);
    hash.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.size}\0`);
    if (st.isSymbolicLink()) hash.update(readlinkSync(path));
    else if (st.isFile()) hash.update(readFileSync(path));
    else if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(rel, name));
  };
  walk(".");
  return hash.digest("hex");
}
