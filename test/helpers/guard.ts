// The checks every reliability case ends with: nothing of ours left on the host (tmpdirs, mounts,
// processes, cgroups) and the rootfs byte-identical (unless the case used -D).
import assert from "node:assert/strict";
import { leftoversAfter, snapshot } from "./leftovers.js";
import { treeHash } from "./tree-hash.js";

export async function guarded<T>(root: string, body: () => Promise<T>): Promise<T> {
  const before = snapshot();
  const hash = treeHash(root);
  const result = await body();
  assert.deepEqual(await leftoversAfter(before), [], "left behind");
  assert.equal(treeHash(root), hash, `the rootfs ${root} changed`);
  return result;
}
