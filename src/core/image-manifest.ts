// The manifest.json of an image folder (images/<arch>/): its one type, written by the breeder, read
// by tsminc, tsermine list and testrun through parseManifest; imageJson, the check LICENSES.json shares. Pure.
import { ARCH_NAMES, type ArchName } from "./arch.js";
import { MincError } from "./errors.js";

export interface ImageFile {
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
}

export interface SourceRecord {
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  /** upstream, debian, a folder or a mirror */
  readonly origin: string;
  /** where it was fetched from */
  readonly from: string;
}

export type SourceName = "linux" | "busybox";

export interface ImageManifest {
  readonly arch: ArchName;
  /** file names in the folder */
  readonly kernelImage: string;
  readonly initramfs: string;
  readonly kernelRelease: string;
  readonly kernelConfig: {
    readonly start: string;
    readonly fragments: readonly { readonly name: string; readonly options: number }[];
    readonly droppedOptions: readonly string[];
  };
  readonly sources: Readonly<Record<SourceName, SourceRecord>>;
  readonly compiler: string;
  /** the fingerprint of the guest-init/ it was packed with: tsminc refuses to boot other guest code */
  readonly guestInit: string;
  /** every file of the folder but the manifest, by name (kernel, initramfs, config, busybox, confine, nsrun) */
  readonly outputs: Readonly<Record<string, ImageFile>>;
  readonly buildSeconds: Readonly<Record<string, number>>;
  /** the cache artifacts each part came from */
  readonly cacheKeys: Readonly<Record<string, string>>;
  readonly created: string;
}

/** The files every image folder holds besides its kernel and initramfs. */
export const IMAGE_TOOLS = ["busybox", "confine", "nsrun"] as const;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/**
 * A JSON file of an image folder (`what`, read from `where`): an object naming a known arch, and the
 * error that refuses it further, in one line with the fix.
 */
export function imageJson(
  text: string,
  where: string,
  what: string,
): { doc: Record<string, unknown>; broken: (why: string) => MincError } {
  const broken = (why: string) =>
    new MincError("image", `${where} is not ${what}: ${why}`, { hint: "run tsermine breed again for that arch" });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw broken("not JSON");
  }
  if (!isObject(doc)) throw broken("not an object");
  if (!ARCH_NAMES.includes(doc.arch as ArchName)) throw broken(`unknown arch ${JSON.stringify(doc.arch)}`);
  return { doc, broken };
}

/** The manifest in `text` (read from `where`); one line naming the fix when it is not one of ours. */
export function parseManifest(text: string, where: string): ImageManifest {
  const { doc: m, broken } = imageJson(text, where, "an image manifest tsminc can use");
  for (const key of ["kernelImage", "initramfs", "kernelRelease", "guestInit", "created"])
    if (typeof m[key] !== "string") throw broken(`no ${key}`);
  for (const key of ["kernelConfig", "sources", "outputs", "cacheKeys"])
    if (!isObject(m[key])) throw broken(`no ${key}`);
  const outputs = m.outputs as Record<string, unknown>;
  for (const name of [m.kernelImage as string, m.initramfs as string, ...IMAGE_TOOLS])
    if (!isObject(outputs[name])) throw broken(`it lists no ${name} (bred by an older tsermine)`);
  return m as unknown as ImageManifest;
}
