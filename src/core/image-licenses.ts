// LICENSES.json of an image folder (images/<arch>/): what each of its files holds, under which
// license, built from which sources (names, versions, sha256s). Made by the breeder's output step,
// read and shown by tsermine list --licenses. Pure.
import type { ArchName } from "./arch.js";
import { imageJson, isObject, type SourceRecord } from "./image-manifest.js";

export const LICENSES_FILE = "LICENSES.json";

/** What went into the image: a source tarball, a static library as the toolchain had it, a file of tsminc's. */
export interface LicensedSource {
  readonly file: string;
  readonly sha256: string;
  /** where it came from: a URL, a Debian package, tsminc's package */
  readonly from: string;
}

export interface LicensedComponent {
  readonly name: string;
  readonly version: string;
  /** an SPDX license expression */
  readonly license: string;
  /** the files of the image folder holding it */
  readonly in: readonly string[];
  readonly sources: readonly LicensedSource[];
  /** the license texts, files of the image folder */
  readonly texts: readonly string[];
  readonly note?: string;
}

export interface ImageLicenses {
  readonly arch: ArchName;
  readonly about: string;
  readonly components: readonly LicensedComponent[];
}

/** A static library gcc linked into a program of the image (busybox, confine, nsrun). */
export interface StaticLib {
  readonly name: "glibc" | "libgcc";
  /** upstream's version, e.g. 2.36 */
  readonly version: string;
  /** the archive linked, and where it came from */
  readonly source: LicensedSource;
}

/** The license texts an image carries, by SPDX id: their files in the image folder. */
export const LICENSE_TEXTS = {
  "GPL-2.0-only": "licenses/GPL-2.0-only.txt",
  "Linux-syscall-note": "licenses/Linux-syscall-note.txt",
  "LGPL-2.1-or-later": "licenses/LGPL-2.1-or-later.txt",
  MIT: "licenses/MIT.txt",
} as const;

export type LicenseTextId = keyof typeof LICENSE_TEXTS;

export interface LicenseInputs {
  readonly arch: ArchName;
  readonly kernelImage: string;
  readonly initramfs: string;
  readonly sources: { readonly linux: SourceRecord; readonly busybox: SourceRecord };
  /** what tsminc changed in busybox's tree (files), besides configuring it */
  readonly busyboxChanges: readonly string[];
  /** the Linux files breeder/kernel.ts changes (KERNEL_TWEAKS) */
  readonly linuxChanges: readonly string[];
  /** each static program of the image, the image files holding it, and the libraries it was linked with */
  readonly programs: readonly {
    readonly name: string;
    readonly in: readonly string[];
    readonly libs: readonly StaticLib[];
  }[];
  /** tsminc's own files in the image (libexec/, guest-init/) and its version */
  readonly tsminc: {
    readonly version: string;
    readonly in: readonly string[];
    readonly files: readonly LicensedSource[];
  };
}

const ABOUT =
  "What the files of this folder hold, under which licenses, built from which sources. Whoever passes " +
  "the image on passes this file and the license texts with it, and for the GPL parts the sources named " +
  "here (or a written offer of them).";

const STATIC_LIBS: Readonly<Record<StaticLib["name"], { license: string; texts: LicenseTextId[]; note: string }>> = {
  glibc: {
    license: "LGPL-2.1-or-later",
    texts: ["LGPL-2.1-or-later"],
    note: "linked statically: the source is the C library's source package of the version named in `from`",
  },
  libgcc: {
    license: "GPL-3.0-or-later WITH GCC-exception-3.1",
    texts: [],
    note: "gcc's runtime support, linked statically; the GCC Runtime Library Exception lets the programs go under their own licenses",
  },
};

const sourceOf = (r: SourceRecord): LicensedSource => ({ file: r.file, sha256: r.sha256, from: r.from });

/** The static libraries of every program, one component per distinct library (a cached program may predate a libc update). */
function libraryComponents(programs: LicenseInputs["programs"]): LicensedComponent[] {
  const found = new Map<string, { lib: StaticLib; in: string[] }>();
  for (const program of programs) {
    for (const lib of program.libs) {
      const key = `${lib.name}\0${lib.source.sha256}`;
      const entry = found.get(key) ?? { lib, in: [] };
      for (const file of program.in) if (!entry.in.includes(file)) entry.in.push(file);
      found.set(key, entry);
    }
  }
  return [...found.values()].map(({ lib, in: holders }) => ({
    name: lib.name,
    version: lib.version,
    license: STATIC_LIBS[lib.name].license,
    in: holders,
    sources: [lib.source],
    texts: STATIC_LIBS[lib.name].texts.map((id) => LICENSE_TEXTS[id]),
    note: STATIC_LIBS[lib.name].note,
  }));
}

/** The LICENSES.json of an image: Linux, busybox, the static libraries, tsminc's own helpers and guest code. */
export function imageLicenses(inputs: LicenseInputs): ImageLicenses {
  const { linux, busybox } = inputs.sources;
  const busyboxFiles = inputs.programs.find((p) => p.name === "busybox")?.in ?? ["busybox"];
  return {
    arch: inputs.arch,
    about: ABOUT,
    components: [
      {
        name: "linux",
        version: linux.version,
        license: "GPL-2.0-only WITH Linux-syscall-note",
        in: [inputs.kernelImage],
        sources: [sourceOf(linux)],
        texts: [LICENSE_TEXTS["GPL-2.0-only"], LICENSE_TEXTS["Linux-syscall-note"]],
        note:
          "configured by the fragments manifest.json names; the final configuration is the file config" +
          (inputs.linuxChanges.length > 0
            ? `; tsminc's breeder/kernel.ts changes ${inputs.linuxChanges.join(", ")} (KERNEL_TWEAKS)`
            : ""),
      },
      {
        name: "busybox",
        version: busybox.version,
        license: "GPL-2.0-only",
        in: busyboxFiles,
        sources: [sourceOf(busybox)],
        texts: [LICENSE_TEXTS["GPL-2.0-only"]],
        note:
          "configured by tsminc's breeder/busybox.config" +
          (inputs.busyboxChanges.length > 0
            ? `; tsminc's breeder/busybox.ts changes ${inputs.busyboxChanges.join(", ")} (SOURCE_TWEAKS)`
            : ""),
      },
      ...libraryComponents(inputs.programs),
      {
        name: "tsminc",
        version: inputs.tsminc.version,
        license: "MIT",
        in: [...inputs.tsminc.in],
        sources: [...inputs.tsminc.files],
        texts: [LICENSE_TEXTS.MIT],
        note: "tsminc's static helpers (libexec/) and guest code (guest-init/)",
      },
    ],
  };
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

function isComponent(c: unknown): c is LicensedComponent {
  if (!isObject(c)) return false;
  if (!["name", "version", "license"].every((k) => typeof c[k] === "string")) return false;
  if (!isStrings(c.in) || !isStrings(c.texts) || !Array.isArray(c.sources)) return false;
  return c.sources.every((s) => isObject(s) && ["file", "sha256", "from"].every((k) => typeof s[k] === "string"));
}

/** The LICENSES.json in `text` (read from `where`); one line naming the fix when it is not one of ours. */
export function parseLicenses(text: string, where: string): ImageLicenses {
  const { doc, broken } = imageJson(text, where, "a licenses file tsermine can read");
  if (typeof doc.about !== "string") throw broken("no about");
  if (!Array.isArray(doc.components) || !doc.components.every(isComponent)) throw broken("a component is malformed");
  return doc as unknown as ImageLicenses;
}

/** The licenses as tsermine list --licenses shows them: a line per component, its sources indented. */
export function describeLicenses(doc: ImageLicenses): string {
  const lines: string[] = [];
  for (const c of doc.components) {
    lines.push(`  ${`${c.name} ${c.version}`.padEnd(22)} ${c.license.padEnd(38)} in ${c.in.join(", ")}`);
    for (const s of c.sources) lines.push(`      ${s.file}  sha256:${s.sha256}  (${s.from})`);
  }
  return lines.join("\n") + "\n";
}
