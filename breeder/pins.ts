// The source tarballs ermine is built from: versions and sha256s, pinned here and nowhere else.

export type { SourceName } from "../src/core/image-manifest.js";
import type { SourceName } from "../src/core/image-manifest.js";

export interface SourcePin {
  readonly name: SourceName;
  readonly version: string;
  /** upstream's file name; mirrors (--sources URL) and folders (--sources DIR) use it too */
  readonly file: string;
  readonly sha256: string;
  /** where upstream publishes it */
  readonly url: string;
  /** how Debian carries it: a source package whose orig tarball is upstream's file, or a binary package holding a tarball */
  readonly debian:
    | { readonly kind: "orig"; readonly sourcePackage: string; readonly origFile: string }
    | { readonly kind: "binary"; readonly package: string; readonly tarballInside: string };
}

export const PINS: Readonly<Record<SourceName, SourcePin>> = {
  linux: {
    name: "linux",
    version: "6.1.127",
    file: "linux-6.1.127.tar.xz",
    // kernel.org's sha256sums.asc for v6.x
    sha256: "18b0d41d1a7fbad56045cde0d7fc176bfb18361d29c9f07e57109bbf21bf7876",
    url: "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.1.127.tar.xz",
    // Debian's kernel tarball is patched (not upstream's file): it is verified by apt's signed indexes.
    debian: { kind: "binary", package: "linux-source-6.1", tarballInside: "usr/src/linux-source-6.1.tar.xz" },
  },
  busybox: {
    name: "busybox",
    version: "1.35.0",
    file: "busybox-1.35.0.tar.bz2",
    sha256: "faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694",
    url: "https://busybox.net/downloads/busybox-1.35.0.tar.bz2",
    debian: { kind: "orig", sourcePackage: "busybox", origFile: "busybox_1.35.0.orig.tar.bz2" },
  },
};

export const SOURCE_NAMES = Object.keys(PINS) as readonly SourceName[];
