// Reads an image folder's manifest.json: the one reader, for tsminc, tsermine, the bench and the tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MincError } from "../core/errors.js";
import { parseManifest, type ImageManifest } from "../core/image-manifest.js";

export const MANIFEST_FILE = "manifest.json";

/** The manifest of the image folder `dir` (images/<arch>), or undefined when it has none. */
export function readManifest(dir: string): ImageManifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MincError("image", `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: "check the image folder's permissions, or point --ermine at another one",
    });
  }
  return parseManifest(text, path);
}
