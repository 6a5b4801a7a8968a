// tsermine list and clean: what images exist, and removing what the cache holds.
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

interface ManifestView {
  arch: string;
  kernelImage: string;
  initramfs: string;
  kernelRelease: string;
  kernelConfig: { start: string; fragments: { name: string }[] };
  sources: Record<string, { version: string; origin: string }>;
  outputs: Record<string, { size: number }>;
  created: string;
}

export async function listImages(imagesDir: string): Promise<string> {
  const arches = existsSync(imagesDir) ? await readdir(imagesDir) : [];
  const rows: string[] = [];
  for (const arch of arches.sort()) {
    const file = join(imagesDir, arch, "manifest.json");
    if (!existsSync(file)) continue;
    const m = JSON.parse(await readFile(file, "utf8")) as ManifestView;
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
    ? [cacheDir, ...["x86_64", "arm64", "arm"].map((a) => join(imagesDir, a))]
    : [join(cacheDir, "build"), join(cacheDir, "src")];
  await Promise.all(targets.map((t) => rm(t, { recursive: true, force: true })));
  return `removed ${targets.join(", ")}\n`;
}
