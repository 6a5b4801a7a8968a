// The root disk of vm mode: a rootfs folder packed into a read-only EROFS image, which the guest
// reads through virtio-blk (see kernel-configs/base.config). One image per state of the tree, under
// ~/.cache/tsminc/root-disks/KEY.erofs (+ KEY.json: which folder), found again by a walk of the tree
// (names, inodes, modes, owners, sizes, mtimes and ctimes: any change to a file changes its ctime),
// or, for an image's unpacked root (made once in the image store and renamed into place, never
// written), by that folder alone.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { MincError } from "../core/errors.js";
import type { RootDiskPlan } from "../core/root-disk-plan.js";
import { sha256Text } from "./hash.js";
import { pidAlive } from "./pid-alive.js";
import type { Runner } from "./runner.js";

/**
 * Every disk is padded (sparsely) to this size: the guest learns its disk's size when it boots, and a
 * resumed snapshot keeps that, so every disk must look the same size to it.
 */
export const ROOT_DISK_BYTES = 256 * 2 ** 30;
/** Bumped when the image's layout or the key's walk changes. */
const FORMAT = "erofs-1";
/** A disk of the same folder not used for this long is replaced when the folder changes. */
const IDLE_MS = 60_000;

interface DiskRecord {
  readonly root: string;
  readonly nopriv: boolean;
  readonly created: string;
  /** an image's unpacked root: keyed by the folder, not a walk */
  readonly image?: boolean;
}

export const rootDisksDir = (cache: string): string => join(cache, "root-disks");

/** A tool's identity in a key (path, size, mtime): another mkfs makes other images. */
const toolStamp = (path: string): string => {
  const st = statSync(path);
  return `${path}:${st.size}:${st.mtimeMs}`;
};

/** The key of the rootfs tree as it is now: a walk by find(1), hashed. */
export async function treeKey(rootfs: string, nopriv: boolean, mkfs: string, runner: Runner): Promise<string> {
  const walk = await runner.run("find", ["-P", rootfs, "-printf", "%P\\0%y %i %m %U %G %s %T@ %C@ %D\\0"]);
  if (walk.exitCode !== 0) {
    throw new MincError("system", `cannot read the rootfs ${rootfs}: ${walk.stderr.trim().split("\n")[0] ?? ""}`, {
      hint: "make every file of the rootfs readable to this user, or add --no-root-disk (the root over 9p)",
    });
  }
  return sha256Text(`${FORMAT}\n${nopriv ? "nopriv" : "root"}\n${toolStamp(mkfs)}\n${walk.stdout}`).slice(0, 32);
}

/**
 * The key of an image's unpacked root: the folder itself (its path, inode and ctime), which the image
 * store renames into place once and never writes; no walk, so no cost per run.
 */
export function imageRootKey(rootfs: string, nopriv: boolean, mkfs: string): string {
  const root = statSync(rootfs);
  return sha256Text(
    `${FORMAT}\nimage\n${nopriv ? "nopriv" : "root"}\n${toolStamp(mkfs)}\n${rootfs}:${root.ino}:${root.ctimeMs}`,
  ).slice(0, 32);
}

/** The key of a disk's root as it is now: the image root's folder, or a walk of the tree. */
async function diskKey(
  rootfs: string,
  opts: { readonly nopriv: boolean; readonly mkfs: string; readonly image: boolean },
  runner: Runner,
): Promise<string> {
  if (!opts.image) return treeKey(rootfs, opts.nopriv, opts.mkfs, runner);
  try {
    return imageRootKey(rootfs, opts.nopriv, opts.mkfs);
  } catch (cause) {
    throw new MincError("system", `cannot read the image's root ${rootfs}`, {
      hint: "pull the image again (tsminc pull REF)",
      cause,
    });
  }
}

/** Packs `rootfs` into `target` (through a temporary file beside it), padded to ROOT_DISK_BYTES. */
async function pack(
  rootfs: string,
  target: string,
  opts: { readonly nopriv: boolean; readonly mkfs: string },
  runner: Runner,
): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    const argv = [opts.mkfs, "--quiet", "--preserve-mtime", tmp, rootfs];
    const made = await (opts.nopriv
      ? runner.run("unshare", ["--map-root-user", ...argv])
      : runner.run(opts.mkfs, argv.slice(1)));
    if (made.exitCode !== 0) {
      throw new MincError(
        "system",
        `cannot pack the rootfs ${rootfs} into a disk: ${made.stderr.trim().split("\n").at(-1) ?? ""}`,
        {
          hint: "make every file of the rootfs readable to this user, or add --no-root-disk (the root over 9p)",
        },
      );
    }
    if (statSync(tmp).size > ROOT_DISK_BYTES) {
      throw new MincError(
        "usage",
        `the rootfs ${rootfs} is bigger than a root disk (${ROOT_DISK_BYTES / 2 ** 30} GiB)`,
        {
          hint: "add --no-root-disk (the root over 9p)",
        },
      );
    }
    truncateSync(tmp, ROOT_DISK_BYTES);
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * The disk for `rootfs` as it is now, from the cache, packed into it first if it has none. With
 * --nopriv, mkfs.erofs runs in a user namespace whose root is the caller, so the image holds the
 * owners the 9p share would show.
 */
export async function rootDisk(
  rootfs: string,
  opts: { readonly dir: string; readonly nopriv: boolean; readonly mkfs: string; readonly image: boolean },
  runner: Runner,
): Promise<string> {
  const { dir } = opts;
  const key = await diskKey(rootfs, opts, runner);
  const disk = join(dir, `${key}.erofs`);
  if (existsSync(disk) && existsSync(join(dir, `${key}.json`))) {
    const now = new Date();
    utimesSync(disk, now, now);
    return disk;
  }
  mkdirSync(dir, { recursive: true });
  await pack(rootfs, disk, opts, runner);
  const record: DiskRecord = {
    root: rootfs,
    nopriv: opts.nopriv,
    created: new Date().toISOString(),
    ...(opts.image ? { image: true } : {}),
  };
  writeFileSync(join(dir, `${key}.json`), JSON.stringify(record) + "\n");
  pruneSameRoot(dir, key, record);
  return disk;
}

/** The upper disk's size: sparse, and what the container may write in a run. */
export const UPPER_DISK_BYTES = 64 * 2 ** 30;

/**
 * mkfs.ext4's options for the empty upper image: no journal (the image is one run's), no room kept for
 * growing it (resize_inode: 4 MiB of the image's 4.7 written, which each resumed run would copy), inode
 * tables left for the guest not to initialise (mounted noinit_itable), root's own top folder.
 */
const EXT4_OPTIONS = ["-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,root_owner=0:0"];

/** Makes an empty ext4 image at `target` (EXT4_OPTIONS). */
async function makeExt4(target: string, mkfs: string, runner: Runner): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    const args = ["-q", "-F", ...EXT4_OPTIONS, tmp, `${UPPER_DISK_BYTES / 2 ** 20}M`];
    const made = await runner.run(mkfs, args);
    if (made.exitCode !== 0) {
      throw new MincError(
        "system",
        `cannot make the root's upper disk: ${made.stderr.trim().split("\n").at(-1) ?? ""}`,
        {
          hint: "check that the run's folder has room, or add --no-root-disk (the root over 9p)",
        },
      );
    }
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** `cached()`, or `alone()` when it failed because this user cannot write the cache folder. */
async function inCacheOr<T>(cached: () => Promise<T>, alone: () => Promise<T>): Promise<T> {
  try {
    return await cached();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw err;
    return alone();
  }
}

/** An empty upper disk at `target`: a sparse copy of the cache's empty image, made once. */
async function emptyUpper(target: string, plan: RootDiskPlan, runner: Runner): Promise<void> {
  const template = join(
    plan.dir,
    `empty-${sha256Text(`${toolStamp(plan.tools.ext4)}:${UPPER_DISK_BYTES}:${EXT4_OPTIONS.join(" ")}`).slice(0, 16)}.ext4`,
  );
  const cached = await inCacheOr(
    async () => {
      if (!existsSync(template)) {
        mkdirSync(plan.dir, { recursive: true });
        await makeExt4(template, plan.tools.ext4, runner);
        // Templates of another mkfs.ext4 or other options, idle for a while, go.
        for (const f of readdirSync(plan.dir))
          if (/^empty-[0-9a-f]{16}\.ext4$/.test(f) && join(plan.dir, f) !== template && idle(join(plan.dir, f)))
            rmSync(join(plan.dir, f), { force: true });
      }
      return true;
    },
    async () => {
      await makeExt4(target, plan.tools.ext4, runner);
      return false;
    },
  );
  if (cached) await copyUpperDisk(template, target, runner);
}

/** Copies an upper disk image, its holes kept (64 GiB long, a few MiB of it written). */
export async function copyUpperDisk(from: string, to: string, runner: Runner): Promise<void> {
  const copied = await runner.run("cp", ["--sparse=always", from, to]);
  if (copied.exitCode !== 0) {
    throw new MincError("system", `cannot make the root's upper disk: ${copied.stderr.trim()}`, {
      hint: "check that the run's folder has room, or add --no-root-disk (the root over 9p)",
    });
  }
}

/** Where a run's upper disk comes from: the one -t kept, a copy of a snapshot's, or a new empty one. */
export type UpperSource = "kept" | "empty" | { readonly saved: string };

/**
 * The run's upper disk: the one -t brought, a copy of `saved` (the upper disk a snapshot was saved
 * with, which the resumed guest has mounted already), or an empty one. A disk of an earlier attempt
 * of this run (a snapshot that could not be resumed) is replaced.
 */
export async function provideUpperDisk(plan: RootDiskPlan, from: UpperSource, runner: Runner): Promise<void> {
  if (from === "kept" && existsSync(plan.upper)) return;
  rmSync(plan.upper, { force: true });
  if (typeof from === "object") await copyUpperDisk(from.saved, plan.upper, runner);
  else await emptyUpper(plan.upper, plan, runner);
}

/**
 * Puts the run's disks in its tmpdir: the lower one a link to the cached packed rootfs (or, when this
 * user cannot write the cache, say --nopriv with root's HOME, one packed for this run alone, gone with
 * its tmpdir), the upper one as provideUpperDisk says.
 */
export async function provideRootDisk(plan: RootDiskPlan, upperFrom: UpperSource, runner: Runner): Promise<void> {
  rmSync(plan.lower, { force: true });
  const opts = { dir: plan.dir, nopriv: plan.nopriv, mkfs: plan.tools.erofs, image: plan.image };
  const lower = async () => {
    const disk = await inCacheOr<string | undefined>(
      () => rootDisk(plan.rootfs, opts, runner),
      async () => {
        await pack(plan.rootfs, plan.lower, opts, runner);
        return undefined;
      },
    );
    if (disk !== undefined) symlinkSync(disk, plan.lower);
  };
  // Both at once; the first failure is the error, once the other has settled (nothing half-made
  // is left running).
  const settled = await Promise.allSettled([provideUpperDisk(plan, upperFrom, runner), lower()]);
  for (const s of settled) if (s.status === "rejected") throw s.reason;
}

const records = (dir: string): { key: string; record: DiskRecord }[] =>
  (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => {
      try {
        return [{ key: f.slice(0, -5), record: JSON.parse(readFileSync(join(dir, f), "utf8")) as DiskRecord }];
      } catch {
        return [];
      }
    });

function removeDisk(dir: string, key: string): void {
  rmSync(join(dir, `${key}.json`), { force: true });
  rmSync(join(dir, `${key}.erofs`), { force: true });
}

/** Whether a file was last modified IDLE_MS ago or more (or is gone). */
function idle(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > IDLE_MS;
  } catch {
    return true;
  }
}

/** The older disks of the same folder, idle for a while (a run that opened one keeps reading it). */
function pruneSameRoot(dir: string, key: string, record: DiskRecord): void {
  for (const other of records(dir)) {
    if (other.key === key || other.record.root !== record.root || other.record.nopriv !== record.nopriv) continue;
    if (idle(join(dir, `${other.key}.erofs`))) removeDisk(dir, other.key);
  }
}

/**
 * tsminc gc: disks being packed by runs that are gone, disks whose folder is gone or has changed
 * since (its walk gives another key), records without a disk. Returns a line per removal.
 */
export async function rootDiskGarbage(dir: string, mkfs: string | undefined, runner: Runner): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    const pid = /\.tmp-(\d+)$/.exec(f)?.[1];
    if (pid !== undefined && !pidAlive(Number(pid))) {
      rmSync(join(dir, f), { force: true });
      removed.push(`removed ${join(dir, f)} (a root disk being packed by a run that is gone)`);
    }
  }
  for (const { key, record } of records(dir)) {
    const disk = join(dir, `${key}.erofs`);
    const stale =
      !existsSync(disk) ||
      !existsSync(record.root) ||
      mkfs === undefined ||
      (await diskKey(record.root, { nopriv: record.nopriv, mkfs, image: record.image === true }, runner).catch(
        () => "",
      )) !== key;
    if (stale) {
      removeDisk(dir, key);
      removed.push(`removed root disk ${disk} (its rootfs ${record.root} has changed or is gone)`);
    }
  }
  return removed;
}
