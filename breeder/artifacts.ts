// The build cache: each step's output in a folder named by a hash of its inputs, present only when complete.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256Text } from "../src/host/hash.js";
import { removeStaleSiblings } from "./stale.js";

/** A short, stable key for a list of inputs (strings, numbers, nested arrays and plain objects). */
export function keyOf(inputs: unknown): string {
  return sha256Text(JSON.stringify(inputs)).slice(0, 16);
}

export interface Artifact<M> {
  readonly dir: string;
  readonly meta: M;
  readonly cached: boolean;
}

/**
 * Returns the artifact `name` under `root`, building it with `build(tmpDir)` when it is absent (or when
 * `rebuild`). `build` fills tmpDir and returns metadata; the folder is renamed into place only after that.
 */
export async function artifact<M>(
  root: string,
  name: string,
  rebuild: boolean,
  build: (tmpDir: string) => Promise<M>,
): Promise<Artifact<M>> {
  const dir = join(root, name);
  const metaFile = join(dir, "meta.json");
  if (!rebuild && existsSync(metaFile)) {
    return { dir, meta: JSON.parse(await readFile(metaFile, "utf8")) as M, cached: true };
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  // A build killed midway leaves only its .tmp folder (never a meta.json): drop it.
  await removeStaleSiblings(dir, [".tmp-"]);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const meta = await build(tmp);
    await writeFile(join(tmp, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { dir, meta, cached: false };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
