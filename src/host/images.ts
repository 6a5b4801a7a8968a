// tsermine list and clean: what images exist, and removing what the cache holds.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { ARCH_NAMES } from "../core/arch.js";
import { readManifest } from "./image-manifest.js";

export function listImages(imagesDir: string): string {
  const rows: string[] = [];
  for (const arch of [...ARCH_NAMES].sort()) {
    const m = readManifest(join(imagesDir, arch));
    if (m === undefined) continue;
    const size = (m.outputs[m.kernelImage]?.size ?? 0) + (m.outputs[m.initramfs]?.size ?? 0);
    const configs = m.kernelConfig.fragments.map((f) => f.name.replace(/\.config$/, "")).join("+");
    const sources = Object.entries(m.sources)
      .map(([name, s]) => `${name} ${s.version}`)
      .join(", ");
    rows.push(
      `${arch.padEnd(7)} ${(size / 1048576).toFixed(2).padStart(6)} MiB  linux ${m.kernelRelease} (${configs}); ${sources}; ${m.created}`,
    );
  }
  return rows.length > 0 ? rows.join("\n") + "\n" : `no images in ${imagesDir}; run: tsermine breed\n`;
}

export async function cleanImages(cacheDir: string, imagesDir: string, all: boolean): Promise<string> {
  const targets = all
    ? [cacheDir, ...ARCH_NAMES.map((a) => join(imagesDir, a))]
    : [join(cacheDir, "build"), join(cacheDir, "src")];
  await Promise.all(targets.map((t) => rm(t, { recursive: true, force: true })));
  return `removed ${targets.join(", ")}\n`;
}
