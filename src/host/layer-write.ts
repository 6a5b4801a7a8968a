// A layer's tar entries written onto the target folder one at a time, after every check: files, folders, links, devices.
import {
  chmodSync,
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  openSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import type { ReadEntry } from "tar";
import { MincError } from "../core/errors.js";
import { classifyLayerPath, hardLinkTarget } from "../core/layer-path.js";
import type { ApplyOptions, LayerStats } from "./layer-apply.js";
import type { EntrySink } from "./layer-tar.js";
import { LayerTree, lstatMaybe } from "./layer-tree.js";
import { spawnRunner } from "./spawn-runner.js";

const HOSTILE_HINT = "the layer is malformed or hostile; use an image from a source you trust";

/** Applies entries to `root`, one at a time; `finish()` once they all are. */
export class LayerWriter implements EntrySink {
  readonly stats: LayerStats = { entries: 0, skippedDevices: 0, bytes: 0 };
  private readonly root: string;
  private readonly opts: ApplyOptions;
  private readonly tree: LayerTree;

  constructor(root: string, opts: ApplyOptions) {
    this.root = root;
    this.opts = opts;
    const rootless = !opts.privileged && process.getuid?.() !== 0;
    this.tree = new LayerTree(root, (why) => this.refusal(why), rootless);
  }

  refusal(why: string): MincError {
    return new MincError("layer", `layer ${this.opts.name}: ${why}`, { hint: HOSTILE_HINT });
  }

  /** Runs a check of core/layer-path.ts, its refusal naming this layer. */
  private named<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof MincError)) throw err;
      throw new MincError(err.code, `layer ${this.opts.name}: ${err.message}`, {
        hint: err.hint ?? HOSTILE_HINT,
        cause: err,
      });
    }
  }

  async apply(entry: ReadEntry, signal: AbortSignal): Promise<void> {
    this.stats.entries++;
    try {
      await this.applyEntry(entry, signal);
    } catch (err) {
      if (err instanceof MincError || signal.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new MincError(
        "system",
        `layer ${this.opts.name}: cannot write ${JSON.stringify(entry.path)}: ${e.message}`,
        {
          cause: err,
          hint:
            e.code === "ENOSPC" || e.code === "EDQUOT"
              ? `free some space under ${this.root}`
              : `check the filesystem and permissions under ${this.root}`,
        },
      );
    }
  }

  /** Folders' modes and times, once every entry is in. */
  finish(): void {
    this.tree.finish();
  }

  private async applyEntry(entry: ReadEntry, signal: AbortSignal): Promise<void> {
    const where = this.named(() => classifyLayerPath(entry.path));
    if (where.kind === "whiteout") this.tree.whiteout(where.path, entry.path);
    else if (where.kind === "opaque") this.tree.opaque(where.dir, entry.path);
    else if (where.kind === "entry") {
      const p = where.path;
      if (p === "" && entry.type !== "Directory") throw this.refusal(`the root entry is a ${entry.type}`);
      switch (entry.type) {
        case "File":
        case "OldFile":
        case "ContiguousFile":
          await this.file(p, entry, signal);
          return; // consume() has ended the entry
        case "Directory":
          this.dir(p, entry);
          break;
        case "SymbolicLink":
          this.symlink(p, entry);
          break;
        case "Link":
          this.hardlink(p, entry);
          break;
        case "CharacterDevice":
        case "BlockDevice":
          await this.device(p, entry);
          break;
        case "FIFO":
          await this.fifo(p, entry);
          break;
        default:
          throw this.refusal(`entry ${JSON.stringify(entry.path)} is of a type not unpacked (${entry.type})`);
      }
    }
    entry.resume();
  }

  private owner(entry: ReadEntry): [number, number] {
    return [entry.uid ?? 0, entry.gid ?? 0];
  }

  /** Owner (if privileged), then mode (so setuid bits survive the chown), then times, of a fresh non-symlink. */
  private finishNode(abs: string, entry: ReadEntry, defaultMode: number): void {
    if (this.opts.privileged) lchownSync(abs, ...this.owner(entry));
    chmodSync(abs, entry.mode ?? defaultMode);
    if (entry.mtime !== undefined) lutimesSync(abs, entry.atime ?? entry.mtime, entry.mtime);
  }

  private async file(p: string, entry: ReadEntry, signal: AbortSignal): Promise<void> {
    const abs = this.tree.clear(p, entry.path);
    const fd = openSync(abs, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY | fsc.O_NOFOLLOW, 0o600);
    this.tree.markWritten(p);
    try {
      await consume(entry, signal, (chunk) => {
        writeAll(fd, chunk);
        this.stats.bytes += chunk.length;
      });
      if (this.opts.privileged) fchownSync(fd, ...this.owner(entry));
      fchmodSync(fd, entry.mode ?? 0o644);
      if (entry.mtime !== undefined) futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private dir(p: string, entry: ReadEntry): void {
    const abs = p === "" ? this.tree.abs(p) : this.tree.makeDir(p, entry.path);
    this.tree.markWritten(p);
    if (this.opts.privileged) lchownSync(abs, ...this.owner(entry));
    this.tree.setDirMeta(p, { mode: entry.mode ?? 0o755, atime: entry.atime ?? entry.mtime, mtime: entry.mtime });
  }

  private symlink(p: string, entry: ReadEntry): void {
    const abs = this.tree.clear(p, entry.path);
    symlinkSync(entry.linkpath ?? "", abs); // its text is never followed here
    this.tree.markWritten(p);
    if (this.opts.privileged) lchownSync(abs, ...this.owner(entry));
    if (entry.mtime !== undefined) lutimesSync(abs, entry.atime ?? entry.mtime, entry.mtime);
  }

  private hardlink(p: string, entry: ReadEntry): void {
    const to = this.named(() => hardLinkTarget(entry.linkpath ?? ""));
    const what = `hard link ${JSON.stringify(entry.path)} to ${JSON.stringify(to)}`;
    const st = this.tree.parentsOk(to, what, false) ? lstatMaybe(this.tree.abs(to)) : undefined;
    if (st === undefined) throw this.refusal(`${what}: the target does not exist`);
    if (st.isDirectory()) throw this.refusal(`${what}: the target is a folder`);
    if (to.startsWith(`${p}/`)) throw this.refusal(`${what}: the target is inside the link`);
    if (to === p) return; // a link to itself: already there
    const abs = this.tree.clear(p, entry.path);
    linkSync(this.tree.abs(to), abs); // link(2) does not follow a symlink target
    this.tree.markWritten(p);
  }

  private async device(p: string, entry: ReadEntry): Promise<void> {
    if (!this.opts.privileged) {
      this.stats.skippedDevices++;
      return;
    }
    const abs = this.tree.clear(p, entry.path);
    const kind = entry.type === "BlockDevice" ? "b" : "c";
    await run("mknod", ["--", abs, kind, String(entry.header.devmaj), String(entry.header.devmin)]);
    this.tree.markWritten(p);
    this.finishNode(abs, entry, 0o600);
  }

  private async fifo(p: string, entry: ReadEntry): Promise<void> {
    const abs = this.tree.clear(p, entry.path);
    await run("mkfifo", ["--", abs]);
    this.tree.markWritten(p);
    this.finishNode(abs, entry, 0o644);
  }
}

/** Resolves once `entry`'s content has all gone through `sink`; rejects if `sink` throws or `signal` fires. */
function consume(entry: ReadEntry, signal: AbortSignal, sink: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let broken = false;
    const stop = (err: unknown): void => {
      if (broken) return;
      broken = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onAbort = (): void => {
      stop(new Error("aborted"));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    entry.on("data", (chunk: Buffer) => {
      if (broken) return;
      try {
        sink(chunk);
      } catch (err) {
        stop(err);
      }
    });
    entry.once("end", () => {
      signal.removeEventListener("abort", onAbort);
      if (!broken) resolve();
    });
    entry.resume();
  });
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
}

async function run(file: string, args: readonly string[]): Promise<void> {
  const r = await spawnRunner.run(file, args);
  if (r.exitCode !== 0) throw new Error(`${file} failed: ${r.stderr.trim().split("\n").at(-1) ?? r.exitCode}`);
}
