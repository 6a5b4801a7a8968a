// tsermine list and clean: what images exist (and, with --licenses, what is inside them), and removing what the cache holds.
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { ARCH_NAMES } from "../core/arch.js";
import { describeLicenses, LICENSES_FILE, parseLicenses } from "../core/image-licenses.js";
import { readManifest } from "./image-manifest.js";

const noImages = (imagesDir: string) => `no images in ${imagesDir}; run: tsermine breed\n`;

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
  return rows.length > 0 ? rows.join("\n") + "\n" : noImages(imagesDir);
}

/** tsermine list --licenses: each image's LICENSES.json, a line per component with its sources below. */
export function listLicenses(imagesDir: string): string {
  const parts: string[] = [];
  for (const arch of [...ARCH_NAMES].sort()) {
    const dir = join(imagesDir, arch);
    if (readManifest(dir) === undefined) continue;
    const path = join(dir, LICENSES_FILE);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      parts.push(`${arch}: no ${LICENSES_FILE} (bred by an older tsermine); run: tsermine breed --arch ${arch}\n`);
      continue;
    }
    const doc = parseLicenses(text, path);
    const texts = [...new Set(doc.components.flatMap((c) => c.texts))];
    parts.push(`${arch} (${path})\n${describeLicenses(doc)}  license texts: ${texts.join(", ")}\n`);
  }
  return parts.length > 0 ? parts.join("") : noImages(imagesDir);
}

export async function cleanImages(cacheDir: string, imagesDir: string, all: boolean): Promise<string> {
  const targets = all
    ? [cacheDir, ...ARCH_NAMES.map((a) => join(imagesDir, a))]
    : [join(cacheDir, "build"), join(cacheDir, "src")];
  await Promise.all(targets.map((t) => rm(t, { recursive: true, force: true })));
  return `removed ${targets.join(", ")}\n`;
}
