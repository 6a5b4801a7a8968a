// A fingerprint of guest-init/: recorded in each image's manifest, so tsminc can tell an image packed
// from other guest code than its own (an update without tsermine breed) before booting it.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function guestInitHash(dir: string): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(dir)
    .filter((n) => !n.startsWith("."))
    .sort()) {
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(dir, name)))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}
