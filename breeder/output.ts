// Writes images/<arch>/ (kernel, initramfs, config, tools, licenses, manifest.json) so that it appears only when complete.
import { chmod, copyFile, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ImageFile, ImageManifest } from "../src/core/image-manifest.js";
import { MANIFEST_FILE } from "../src/host/image-manifest.js";
import { sha256File } from "../src/host/hash.js";
import { removeStaleSiblings } from "./stale.js";

/**
 * Copies `files` (name in the image → host path) and writes `texts` (name → content) into `dir`
 * through a staging folder, then writes the manifest, which lists them all.
 */
export async function writeImage(
  dir: string,
  files: Readonly<Record<string, string>>,
  texts: Readonly<Record<string, string>>,
  manifest: (outputs: Readonly<Record<string, ImageFile>>) => ImageManifest,
): Promise<void> {
  const stage = `${dir}.partial-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await removeStaleSiblings(dir, [".partial-", ".old-"]);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  try {
    const outputs: Record<string, ImageFile> = {};
    const record = async (name: string, dest: string) => {
      outputs[name] = { file: name, size: (await stat(dest)).size, sha256: await sha256File(dest) };
    };
    for (const [name, src] of Object.entries(files)) {
      const dest = join(stage, name);
      await copyFile(src, dest);
      await chmod(dest, (await stat(src)).mode & 0o777);
      await record(name, dest);
    }
    for (const [name, text] of Object.entries(texts)) {
      const dest = join(stage, name);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, text, { mode: 0o644 });
      await record(name, dest);
    }
    await writeFile(join(stage, MANIFEST_FILE), JSON.stringify(manifest(outputs), null, 2) + "\n");
    await rm(old, { recursive: true, force: true });
    await rename(dir, old).catch(() => undefined);
    await rename(stage, dir);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}
