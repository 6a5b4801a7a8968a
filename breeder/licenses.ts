// The licenses an image folder carries: LICENSES.json (what is inside, from which sources) and the
// license texts, taken from the verified Linux tree and tsminc's own LICENSE.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ArchName } from "../src/core/arch.js";
import {
  imageLicenses,
  LICENSE_TEXTS,
  LICENSES_FILE,
  type LicensedSource,
  type LicenseTextId,
  type StaticLib,
} from "../src/core/image-licenses.js";
import type { SourceRecord } from "../src/core/image-manifest.js";
import { sha256File } from "../src/host/hash.js";
import { packageRoot } from "../src/host/paths.js";
import { SOURCE_TWEAKS } from "./busybox.js";
import { KERNEL_TWEAKS } from "./kernel.js";
import { HELPER_FILES } from "./helpers.js";

/** Where each license text comes from: a file of the Linux tree (relative to it), or tsminc's LICENSE. */
const TEXT_SOURCES: Readonly<Record<LicenseTextId, { linux: string } | "tsminc">> = {
  "GPL-2.0-only": { linux: "LICENSES/preferred/GPL-2.0" },
  "Linux-syscall-note": { linux: "LICENSES/exceptions/Linux-syscall-note" },
  "LGPL-2.1-or-later": { linux: "LICENSES/preferred/LGPL-2.1" },
  MIT: "tsminc",
};

/** A license file of the Linux tree without its SPDX header (Valid-License-Identifier, Usage-Guide, ...). */
export function licenseText(file: string): string {
  const at = file.search(/^License-Text:\n/m);
  return at < 0 ? file : file.slice(at + "License-Text:\n".length).replace(/^\n+/, "");
}

export interface ImageContents {
  readonly arch: ArchName;
  readonly kernelImage: string;
  readonly initramfs: string;
  readonly sources: { readonly linux: SourceRecord; readonly busybox: SourceRecord };
  /** the unpacked Linux tree the kernel was built from */
  readonly linuxTree: string;
  /** the guest-init folder packed into the initramfs */
  readonly initDir: string;
  /** busybox, confine and nsrun: the image files holding each, and the libraries their artifacts recorded */
  readonly programs: readonly {
    readonly name: string;
    readonly in: readonly string[];
    readonly linkedWith: readonly StaticLib[] | undefined;
  }[];
  /** the toolchain's libraries now, for artifacts built before tsermine recorded theirs */
  readonly staticLibs: () => Promise<readonly StaticLib[]>;
}

async function tsmincFiles(initDir: string, version: string): Promise<LicensedSource[]> {
  const guest = (await readdir(initDir)).filter((n) => !n.startsWith(".")).sort();
  const files = [
    ...HELPER_FILES.map((f) => ({ name: f, path: join(packageRoot, f) })),
    ...guest.map((n) => ({ name: `guest-init/${n}`, path: join(initDir, n) })),
  ];
  return Promise.all(
    files.map(async (f) => ({ file: f.name, sha256: await sha256File(f.path), from: `tsminc ${version}` })),
  );
}

/** The files to write into the image folder for its licenses: name in the folder → content. */
export async function licenseFiles(image: ImageContents): Promise<Record<string, string>> {
  const { version } = JSON.parse(await readFile(join(packageRoot, "package.json"), "utf8")) as { version: string };
  const programs = await Promise.all(
    image.programs.map(async (p) => ({ name: p.name, in: p.in, libs: p.linkedWith ?? (await image.staticLibs()) })),
  );
  const doc = imageLicenses({
    arch: image.arch,
    kernelImage: image.kernelImage,
    initramfs: image.initramfs,
    sources: image.sources,
    busyboxChanges: [...new Set(SOURCE_TWEAKS.map((t) => t.file))],
    linuxChanges: [...new Set(KERNEL_TWEAKS.map((t) => t.file))],
    programs,
    tsminc: {
      version,
      in: ["confine", "nsrun", image.initramfs],
      files: await tsmincFiles(image.initDir, version),
    },
  });
  const files: Record<string, string> = { [LICENSES_FILE]: JSON.stringify(doc, null, 2) + "\n" };
  for (const [id, from] of Object.entries(TEXT_SOURCES) as [LicenseTextId, { linux: string } | "tsminc"][]) {
    files[LICENSE_TEXTS[id]] =
      from === "tsminc"
        ? await readFile(join(packageRoot, "LICENSE"), "utf8")
        : licenseText(await readFile(join(image.linuxTree, from.linux), "utf8"));
  }
  return files;
}
