// The image cache under ~/.cache/tsminc/images: verified blobs by digest, unpacked roots by the
// image's config digest, and a record per reference. Roots are made in a private folder and renamed
// into place, so parallel pulls and killed ones never leave a half root where a run would use it.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ImageConfig } from "../core/oci-image.js";
import { sha256Text } from "./hash.js";
import { cacheDir } from "./paths.js";
import { removeTree } from "./remove-tree.js";

/** What tsminc remembers of an image it has unpacked under a reference. */
export interface ImageRecord {
  /** the reference and the arch it was resolved for (one reference may name an image per arch) */
  readonly key: string;
  /** the reference as given (formatImageRef) */
  readonly ref: string;
  /** the manifest's digest (undefined for a plain rootfs tarball) */
  readonly manifest: string | undefined;
  /** the root's key: the config's digest, or a tarball's own */
  readonly root: string;
  readonly layers: readonly string[];
  readonly config: ImageConfig;
  readonly arch: string | undefined;
  /** bytes of the unpacked root as the layers said (compressed sizes summed) */
  readonly size: number;
  readonly created: string;
  /** for a file source: its identity when unpacked, so an unchanged file is not read again */
  readonly source?: { readonly size: number; readonly mtimeMs: number; readonly ino: number };
}

export interface ImageStore {
  readonly dir: string;
  blobPath(digest: string): string;
  rootPath(key: string): string;
  /** the finished root for a key, if there is one */
  root(key: string): string | undefined;
  /** a fresh private folder in the store (same filesystem: renamed into place when done) */
  scratch(): string;
  /** moves a finished root into place; when another run won the race, ours is dropped */
  commitRoot(key: string, scratchRoot: string): string;
  record(key: string): ImageRecord | undefined;
  saveRecord(record: ImageRecord): void;
  /** forgets every record of the reference (all its arches); how many there were */
  removeRecords(ref: string): number;
  records(): ImageRecord[];
}

const hexOf = (digest: string) => digest.replace(/^sha256:/, "");

export function openImageStore(dir = join(cacheDir(), "images")): ImageStore {
  const blobs = join(dir, "blobs", "sha256");
  const roots = join(dir, "roots");
  const refs = join(dir, "refs");
  const tmp = join(dir, "tmp");
  for (const d of [blobs, roots, refs, tmp]) mkdirSync(d, { recursive: true });
  const refFile = (key: string) => join(refs, `${sha256Text(key)}.json`);
  const store: ImageStore = {
    dir,
    blobPath: (digest) => join(blobs, hexOf(digest)),
    rootPath: (key) => join(roots, hexOf(key)),
    root(key) {
      const path = store.rootPath(key);
      return existsSync(path) ? path : undefined;
    },
    scratch() {
      // the pid in the name lets gc tell a live pull's folder from a killed one's
      const path = join(tmp, `${process.pid}-${randomBytes(6).toString("hex")}`);
      mkdirSync(path, { mode: 0o700 });
      return path;
    },
    commitRoot(key, scratchRoot) {
      const path = store.rootPath(key);
      try {
        renameSync(scratchRoot, path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !existsSync(path)) throw err;
        removeTree(scratchRoot);
      }
      return path;
    },
    record(key) {
      try {
        return JSON.parse(readFileSync(refFile(key), "utf8")) as ImageRecord;
      } catch {
        return undefined;
      }
    },
    saveRecord(record) {
      const file = refFile(record.key);
      const part = `${file}.${process.pid}.part`;
      writeFileSync(part, `${JSON.stringify(record, null, 2)}\n`);
      renameSync(part, file);
    },
    removeRecords(ref) {
      const gone = store.records().filter((r) => r.ref === ref);
      for (const r of gone) rmSync(refFile(r.key), { force: true });
      return gone.length;
    },
    records() {
      return readdirSync(refs)
        .filter((f) => f.endsWith(".json"))
        .flatMap((f) => {
          try {
            return [JSON.parse(readFileSync(join(refs, f), "utf8")) as ImageRecord];
          } catch {
            return [];
          }
        });
    },
  };
  return store;
}

/** A file's identity, to tell an archive unpacked before from one changed since. */
export function fileIdentity(path: string): { size: number; mtimeMs: number; ino: number } {
  const s = statSync(path);
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
}
