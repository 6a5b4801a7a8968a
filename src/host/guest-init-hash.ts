// A fingerprint of guest-init/: recorded in each image's manifest, so tsminc can tell an image packed
// from other guest code than its own (an update without tsermine breed) before booting it.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// node:crypto is loaded on first use: ns-mode runs never need it, and loading it costs 2 ms.
const load = createRequire(import.meta.url);

export function guestInitHash(dir: string): string {
  const { createHash } = load("node:crypto") as typeof import("node:crypto");
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
