// An image reference to an unpacked root in the store: found there again at once when nothing
// changed, else read (a registry, a layout, an archive), unpacked layer by layer in a private
// folder and renamed into place. The unpacked root is only ever a read-only lower layer.
import { existsSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ArchName } from "../core/arch.js";
import { ARCHES } from "../core/arch.js";
import type { UnpackedImage } from "../core/container-process.js";
import { MincError } from "../core/errors.js";
import { formatImageRef, type ImageRef } from "../core/image-ref.js";
import type { RegistrySettings } from "../core/run-config.js";
import type { PullProgress } from "./image-pull.js";
import { fileIdentity, openImageStore, type ImageRecord, type ImageStore } from "./image-store.js";
import type { ImageParts } from "./image-sources.js";
import { removeTree } from "./remove-tree.js";

export interface ResolveOptions {
  readonly arch: ArchName;
  readonly registry: RegistrySettings;
  /** fetch the reference again even when it was unpacked before (tsminc pull) */
  readonly refresh: boolean;
  readonly say: (line: string) => void;
  readonly progress: PullProgress;
  readonly env: NodeJS.ProcessEnv;
  readonly store?: ImageStore;
}

/** The record's key: one reference may name an image per arch (an index). */
export const recordKey = (ref: ImageRef, arch: ArchName) => `${formatImageRef(ref)} ${arch}`;

/** The file whose identity tells whether a local source changed: the archive, or a layout's index.json. */
const sourceFile = (ref: ImageRef) =>
  ref.transport === "docker" ? undefined : ref.transport === "oci" ? join(ref.path, "index.json") : ref.path;

/** A pulled tag (tsminc pull refreshes it), or a file unchanged since: no need to look again. */
function stillValid(ref: ImageRef, record: ImageRecord, store: ImageStore): boolean {
  if (store.root(record.root) === undefined) return false;
  const file = sourceFile(ref);
  if (file === undefined) return true;
  const now = existsSync(file) ? fileIdentity(file) : undefined;
  const was = record.source;
  return (
    now !== undefined &&
    was !== undefined &&
    now.size === was.size &&
    now.mtimeMs === was.mtimeMs &&
    now.ino === was.ino
  );
}

/** The source's parts; each reader is loaded only when used (got and tar cost a run tens of ms to load). */
async function partsOf(ref: ImageRef, opts: ResolveOptions, store: ImageStore, scratch: string): Promise<ImageParts> {
  const what = formatImageRef(ref);
  if (ref.transport === "docker") {
    const { registryParts } = await import("./image-pull.js");
    return registryParts(ref, opts.arch, opts.registry, store, opts.progress, opts.env);
  }
  const { dockerArchiveParts, ociArchiveParts, ociLayoutParts, tarballParts } = await import("./image-sources.js");
  switch (ref.transport) {
    case "oci":
      return ociLayoutParts(ref.path, ref.reference, opts.arch, what);
    case "oci-archive":
      return ociArchiveParts(ref, scratch, opts.arch, what);
    case "docker-archive":
      return dockerArchiveParts(ref, scratch, what);
    case "tarball":
      return tarballParts(ref, what);
  }
}

/** Applies the layers in order into a fresh folder; returns the root's place in the store. */
async function unpack(parts: ImageParts, store: ImageStore, privileged: boolean): Promise<string> {
  const { applyLayer } = await import("./layer-apply.js");
  const scratch = store.scratch();
  try {
    const root = join(scratch, "rootfs");
    mkdirSync(root, { mode: 0o755 });
    for (const layer of parts.layers) {
      const blob = await layer.fetch();
      await applyLayer(blob, root, { privileged, name: layer.digest.slice(0, 19) });
    }
    return store.commitRoot(parts.rootKey, root);
  } finally {
    removeTree(scratch);
  }
}

/** A file of the image's /etc, never through a symlink (it could point at the host's own files). */
function readEtcFile(root: string, name: string): string | undefined {
  try {
    if (!lstatSync(join(root, "etc")).isDirectory() || !lstatSync(join(root, "etc", name)).isFile()) return undefined;
    return readFileSync(join(root, "etc", name), "utf8");
  } catch {
    return undefined;
  }
}

/** The image's unpacked root and config, pulling or unpacking only what is not in the store. */
export async function resolveImage(
  ref: ImageRef,
  opts: ResolveOptions,
): Promise<UnpackedImage & { record: ImageRecord }> {
  const store = opts.store ?? openImageStore();
  const key = recordKey(ref, opts.arch);
  const known = store.record(key);
  let record = known !== undefined && !opts.refresh && stillValid(ref, known, store) ? known : undefined;
  if (record === undefined) {
    const scratch = store.scratch();
    try {
      const file = sourceFile(ref);
      const source = file === undefined || !existsSync(file) ? undefined : fileIdentity(file);
      const parts = await partsOf(ref, opts, store, scratch);
      if (store.root(parts.rootKey) === undefined) await unpack(parts, store, process.getuid?.() === 0);
      record = {
        key,
        ref: formatImageRef(ref),
        manifest: parts.manifest,
        root: parts.rootKey,
        layers: parts.layers.map((l) => l.digest),
        config: parts.config,
        arch: parts.config.architecture ?? ARCHES[opts.arch].ociArch,
        size: parts.layers.reduce((sum, l) => sum + l.size, 0),
        created: new Date().toISOString(),
        ...(source === undefined ? {} : { source }),
      };
      store.saveRecord(record);
    } catch (err) {
      if (err instanceof MincError) throw err;
      throw new MincError("image", `cannot unpack ${formatImageRef(ref)}: ${(err as Error).message}`, {
        hint: "check the space and permissions of ~/.cache/tsminc/images",
        cause: err,
      });
    } finally {
      removeTree(scratch);
    }
  }
  const rootdir = store.rootPath(record.root);
  return {
    record,
    rootdir,
    config: record.config,
    passwd: readEtcFile(rootdir, "passwd"),
    group: readEtcFile(rootdir, "group"),
  };
}
