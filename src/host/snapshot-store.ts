// Warm start's files under ~/.cache/tsminc/snapshots: KEY.state (qemu's migration stream), KEY.json
// (its size, sha256 and stamp), KEY.upper (a root disk VM's upper disk as saved), KEY.lock (the one run
// saving it) and KEY.*.tmp-PID (a save under way). A snapshot counts only when its record is there and
// agrees with its files: they are renamed into place first, the record after them, so a crashed save
// leaves nothing that looks complete.
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type BigIntStats,
} from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ImageFacts } from "../core/host-facts.js";
import { snapshotPaths, type SnapshotPlan } from "../core/snapshot-plan.js";
import { sha256File } from "./hash.js";
import { readManifest } from "./image-manifest.js";
import { pidAlive } from "./pid-alive.js";

/** What a snapshot was made from: a snapshot of an image that has changed since (bred again) is obsolete. */
export interface SnapshotOrigin {
  /** what it is, for `tsminc snapshot ls` */
  readonly what: string;
  readonly image: {
    readonly dir: string;
    readonly guestInit: string;
    /** the kernel's and initramfs's sha256, by file name */
    readonly files: Readonly<Record<string, string>>;
  };
}

/**
 * A file's identity and times: any write to it, or another file renamed or copied into its place,
 * changes one of them (bigints as strings, for JSON).
 */
export interface FileStamp {
  readonly dev: string;
  readonly ino: string;
  readonly size: string;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

export interface SnapshotRecord extends SnapshotOrigin {
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
  readonly created: string;
  /** the state file as it was when it last hashed to sha256 (absent in records older than stamps) */
  readonly stamp?: FileStamp;
  /** KEY.upper as it was published (a root disk VM's); any other file there makes the snapshot damaged */
  readonly upper?: FileStamp;
}

function toStamp({ dev, ino, size, mtimeNs, ctimeNs }: BigIntStats): FileStamp {
  return { dev: `${dev}`, ino: `${ino}`, size: `${size}`, mtimeNs: `${mtimeNs}`, ctimeNs: `${ctimeNs}` };
}

async function stampOf(path: string): Promise<FileStamp | undefined> {
  return stat(path, { bigint: true }).then(toStamp, () => undefined);
}

function sameStamp(a: FileStamp, b: FileStamp | undefined): boolean {
  return (
    b !== undefined &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

/** Writes `record` as the snapshot's KEY.json, atomically (a temp file renamed over it). */
function writeRecord(plan: Pick<SnapshotPlan, "meta">, record: SnapshotRecord): void {
  const meta = `${plan.meta}.tmp-${process.pid}`;
  const fd = openSync(meta, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(meta, plan.meta);
}

/** The origin of a run's snapshot: its image folder, guest code and boot files. */
export function originOf(image: ImageFacts, what: string): SnapshotOrigin {
  const { manifest } = image;
  const files = Object.fromEntries(
    [manifest.kernelImage, manifest.initramfs].map((f) => [f, manifest.outputs[f]?.sha256 ?? ""]),
  );
  return { what, image: { dir: image.dir, guestInit: manifest.guestInit, files } };
}

/** Whether the image a snapshot was made from is gone or was bred again since. */
function obsolete(record: Partial<SnapshotRecord>): boolean {
  const image = record.image;
  if (image === undefined) return true;
  const manifest = readManifest(image.dir);
  if (manifest?.guestInit !== image.guestInit) return true;
  return Object.entries(image.files).some(([f, sha]) => manifest.outputs[f]?.sha256 !== sha);
}

/** Removes the snapshots in `dir` of images that are gone or were bred again; one line each. */
export function pruneObsolete(dir: string): string[] {
  const done: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return done;
  }
  for (const name of names) {
    let record: Partial<SnapshotRecord>;
    try {
      record = JSON.parse(readFileSync(join(dir, name), "utf8")) as Partial<SnapshotRecord>;
    } catch {
      continue;
    }
    if (!obsolete(record)) continue;
    const key = name.slice(0, -".json".length);
    removeSnapshot(snapshotPaths(dir, key));
    done.push(`removed snapshot ${key} (its image is gone or was bred again)`);
  }
  return done;
}

/**
 * The snapshot's record when its state file is there with the recorded size; "absent" when there is
 * neither; else what is wrong (a state with no sound record, a state of another size).
 */
export async function readSnapshot(plan: SnapshotPlan): Promise<SnapshotRecord | "absent" | { damaged: string }> {
  const size = await stat(plan.state).then(
    (st) => st.size,
    () => undefined,
  );
  let text: string;
  try {
    text = await readFile(plan.meta, "utf8");
  } catch {
    // A state with no record is a save being published this instant, or one that died: not ours.
    return "absent";
  }
  try {
    const record = JSON.parse(text) as SnapshotRecord;
    if (record.key !== plan.key || typeof record.sha256 !== "string")
      return { damaged: "its record is not this snapshot's" };
    if (size === undefined) return { damaged: "its state file is missing" };
    if (size !== record.size) return { damaged: `its state file has ${size} bytes, not ${record.size}` };
    if (record.upper !== undefined && !sameStamp(record.upper, await stampOf(plan.upper)))
      return { damaged: "its upper disk is missing or was changed" };
    return record;
  } catch {
    return { damaged: "its record is not JSON" };
  }
}

/**
 * Whether the state file is still the one its record vouches for. Hashing 60 MiB costs a warm run
 * 30-60 ms, so a file whose stamp is the recorded one (not written, replaced or copied since it last
 * hashed right) is trusted as it is; any other is hashed (a bit flipped, another file put there), and
 * restamped when it hashes right.
 */
export async function verifySnapshot(plan: SnapshotPlan, record: SnapshotRecord): Promise<boolean> {
  const before = await stampOf(plan.state);
  if (before === undefined) return false;
  if (sameStamp(before, record.stamp)) return true;
  if ((await sha256File(plan.state).catch(() => "")) !== record.sha256) return false;
  const after = await stampOf(plan.state);
  if (after === undefined || !sameStamp(before, after)) return false;
  try {
    writeRecord(plan, { ...record, stamp: after });
  } catch {
    // A snapshot folder this user may read but not write: the next run hashes it again.
  }
  return true;
}

/** Removes a snapshot: the record first, so no run takes its files meanwhile. */
export function removeSnapshot(plan: Pick<SnapshotPlan, "meta" | "state" | "upper">): void {
  rmSync(plan.meta, { force: true });
  rmSync(plan.state, { force: true });
  rmSync(plan.upper, { force: true });
}

function lockHolder(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the right to save this snapshot: the lock file, made exclusively, with our pid. A lock whose
 * holder is dead (a SIGKILLed run) is taken over. Returns its release, or undefined when a live run
 * holds it (this run then boots cold without saving).
 */
export function lockSnapshot(plan: SnapshotPlan): (() => void) | undefined {
  mkdirSync(join(plan.state, ".."), { recursive: true, mode: 0o700 });
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(plan.lock, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (lockHolder(plan.lock) === process.pid) rmSync(plan.lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = lockHolder(plan.lock);
      // An empty lock is one being written this instant: not stale.
      if (holder === undefined || pidAlive(holder)) return undefined;
      rmSync(plan.lock, { force: true });
    }
  }
  return undefined;
}

/** Where a save writes before the state is complete. */
export function savingPath(plan: SnapshotPlan): string {
  return `${plan.state}.tmp-${process.pid}`;
}

/** Where a save copies a root disk VM's upper disk while the VM is paused. */
export function upperSavingPath(plan: SnapshotPlan): string {
  return `${plan.upper}.tmp-${process.pid}`;
}

/**
 * Puts a complete save in place: the upper disk copied while it was paused (`upper`, a root disk
 * VM's), the state, then its record (size and sha256 as received).
 */
export function publishSnapshot(
  plan: SnapshotPlan,
  saved: string,
  written: { readonly size: number; readonly sha256: string },
  origin: SnapshotOrigin,
  upper?: string,
): SnapshotRecord {
  if (statSync(saved).size !== written.size)
    throw new Error(`${saved} does not hold the ${written.size} bytes received`);
  if (upper !== undefined) renameSync(upper, plan.upper);
  const upperStamp = upper === undefined ? {} : { upper: toStamp(statSync(plan.upper, { bigint: true })) };
  renameSync(saved, plan.state);
  const stamp = toStamp(statSync(plan.state, { bigint: true }));
  const record: SnapshotRecord = {
    key: plan.key,
    ...written,
    created: new Date().toISOString(),
    ...origin,
    stamp,
    ...upperStamp,
  };
  writeRecord(plan, record);
  // The images' earlier snapshots go: each breed would otherwise leave ~20 MiB behind for good.
  pruneObsolete(dirname(plan.state));
  return record;
}

export interface SnapshotEntry {
  readonly key: string;
  readonly record: SnapshotRecord | undefined;
  readonly files: readonly string[];
  readonly bytes: number;
}

/** The snapshots in `dir`, by key, with their files. */
export async function listSnapshots(dir: string): Promise<SnapshotEntry[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const keys = [...new Set(names.map((n) => n.split(".")[0] ?? n))].sort();
  const entries: SnapshotEntry[] = [];
  for (const key of keys) {
    const files = names.filter((n) => n.split(".")[0] === key).map((n) => join(dir, n));
    // What the files take on disk: a saved upper disk is sparse (64 GiB long, a few MiB used).
    let bytes = 0;
    for (const f of files) bytes += (await stat(f).catch(() => ({ blocks: 0 }))).blocks * 512;
    const found = await readSnapshot(snapshotPaths(dir, key));
    entries.push({ key, record: typeof found === "object" && "sha256" in found ? found : undefined, files, bytes });
  }
  return entries;
}

/**
 * What SIGKILLed runs left: saves under way (KEY.*.tmp-PID) and locks whose run is gone, and state
 * files with no record and no live saver. Returns one line per file removed.
 */
export async function snapshotGarbage(dir: string): Promise<string[]> {
  const done: string[] = pruneObsolete(dir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const remove = (name: string, why: string) => {
    rmSync(join(dir, name), { force: true });
    done.push(`removed ${join(dir, name)} (${why})`);
  };
  for (const name of names) {
    const tmp = /\.tmp-(\d+)$/.exec(name);
    if (tmp !== null && !pidAlive(Number(tmp[1]))) remove(name, `a save by pid ${tmp[1]}, which is gone`);
  }
  for (const name of names.filter((n) => n.endsWith(".lock"))) {
    const holder = lockHolder(join(dir, name));
    if (holder !== undefined && !pidAlive(holder)) remove(name, `held by pid ${holder}, which is gone`);
  }
  const left = new Set(await readdir(dir).catch(() => [] as string[]));
  for (const name of left) {
    const key = name.replace(/\.(state|upper)$/, "");
    if (key === name || left.has(`${key}.json`) || left.has(`${key}.lock`)) continue;
    remove(name, `a saved ${name.endsWith(".upper") ? "upper disk" : "state"} with no record`);
  }
  return done;
}
