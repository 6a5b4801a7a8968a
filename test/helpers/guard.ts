// The checks every reliability case ends with: nothing of ours left on the host (tmpdirs, mounts,
// processes, cgroups) and the rootfs byte-identical (unless the case used -D).
import assert from "node:assert/strict";
import { leftSince, snapshot } from "./leftovers.js";
import { treeHash } from "./tree-hash.js";

/** Processes die a moment after their parent: wait up to `ms` for the leftovers to go. */
export async function leftoversAfter(before: ReturnType<typeof snapshot>, ms = 3000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = leftSince(before);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function guarded<T>(root: string, body: () => Promise<T>): Promise<T> {
  const before = snapshot();
  const hash = treeHash(root);
  const result = await body();
  assert.deepEqual(await leftoversAfter(before), [], "left behind");
  assert.equal(treeHash(root), hash, `the rootfs ${root} changed`);
  return result;
}
