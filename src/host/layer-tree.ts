// The target folder as a layer changes it: parents checked to be real folders, whiteouts, opaque folders, modes set last.
import { chmodSync, lstatSync, lutimesSync, mkdirSync, readdirSync, rmSync, unlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { MincError } from "../core/errors.js";
import { DirAccess, LIST, SEARCH, WRITE } from "./layer-access.js";

export interface DirMeta {
  readonly mode: number;
  readonly atime: Date | undefined;
  readonly mtime: Date | undefined;
}

export function lstatMaybe(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The folder holding `p` ("" for the root's children). */
function parentOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

/**
 * Every parent of a path touched is checked (lstat) to be a real folder, not a symlink, before anything
 * is made or deleted there; checked folders are remembered until something under or at them is deleted.
 * Paths are relative to the root, "/"-joined, "" the root itself.
 */
export class LayerTree {
  /** paths this layer wrote: whiteouts and opaque markers spare them */
  private readonly written = new Set<string>();
  /** every folder above a path in `written` */
  private readonly writtenAbove = new Set<string>();
  /** folders known to be real folders (not symlinks), "" the root */
  private readonly realDirs = new Set<string>([""]);
  /** folders' modes and times, set once the layer is in (writing into a folder changes its mtime) */
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly access: DirAccess;

  /** rootless: folders the owner may not change are opened while the layer is applied (see layer-access.ts) */
  constructor(
    private readonly root: string,
    private readonly refusal: (why: string) => MincError,
    rootless: boolean,
  ) {
    this.access = new DirAccess(root, rootless, process.getuid?.());
  }

  abs(p: string): string {
    return p === "" ? this.root : join(this.root, p);
  }

  /**
   * Checks that every folder above `p` is a real folder, making missing ones when `create`.
   * Throws if one is a symlink; returns false (nothing there can exist) if one is missing or
   * not a folder and `create` is false.
   */
  parentsOk(p: string, what: string, create: boolean): boolean {
    const parts = p.split("/");
    parts.pop();
    let rel = "";
    for (const part of parts) {
      const above = rel;
      rel = rel === "" ? part : `${rel}/${part}`;
      if (this.realDirs.has(rel)) continue;
      this.access.allow(above, SEARCH);
      const abs = this.abs(rel);
      const st = lstatMaybe(abs);
      if (st?.isSymbolicLink() === true) throw this.refusal(`${what} goes through a symlink (${rel})`);
      if (st !== undefined && !st.isDirectory()) {
        if (!create) return false;
        throw this.refusal(`${what} goes through a non-folder (${rel})`);
      }
      if (st === undefined) {
        if (!create) return false;
        this.access.allow(above, WRITE);
        mkdirSync(abs);
        chmodSync(abs, 0o755); // whatever the umask
      }
      this.realDirs.add(rel);
    }
    this.access.allow(rel, SEARCH);
    return true;
  }

  /** Makes room for a new non-folder at `p`: parents checked or made, whatever is at `p` deleted. */
  clear(p: string, name: string): string {
    this.parentsOk(p, `entry ${JSON.stringify(name)}`, true);
    const abs = this.abs(p);
    const st = lstatMaybe(abs);
    if (st !== undefined) this.remove(p, st);
    this.access.allow(parentOf(p), WRITE);
    return abs;
  }

  /** A folder at `p` (not the root), the one there kept, anything else there replaced; its mode comes last. */
  makeDir(p: string, name: string): string {
    this.parentsOk(p, `entry ${JSON.stringify(name)}`, true);
    const abs = this.abs(p);
    let st = lstatMaybe(abs);
    if (st !== undefined && !st.isDirectory()) {
      this.access.allow(parentOf(p), WRITE);
      unlinkSync(abs);
      st = undefined;
    }
    if (st === undefined) {
      this.access.allow(parentOf(p), WRITE);
      mkdirSync(abs, 0o700); // its mode comes at the end of the layer
    }
    this.realDirs.add(p);
    return abs;
  }

  /** The mode and times the folder `p` gets once the layer is in. */
  setDirMeta(p: string, meta: DirMeta): void {
    this.dirMeta.set(p, meta);
  }

  markWritten(p: string): void {
    this.written.add(p);
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) {
      const above = p.slice(0, i);
      if (this.writtenAbove.has(above)) break;
      this.writtenAbove.add(above);
    }
  }

  private remove(p: string, st: Stats): void {
    this.access.allow(parentOf(p), WRITE);
    if (!st.isDirectory()) {
      unlinkSync(this.abs(p));
      return;
    }
    try {
      rmSync(this.abs(p), { recursive: true, force: true }); // rm never follows symlinks
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EACCES" || !this.access.enabled) throw err;
      this.access.openTree(p); // folders the owner may not change, under it
      rmSync(this.abs(p), { recursive: true, force: true });
    }
    const prefix = `${p}/`;
    for (const d of this.realDirs) if (d === p || d.startsWith(prefix)) this.realDirs.delete(d);
    for (const d of this.dirMeta.keys()) if (d === p || d.startsWith(prefix)) this.dirMeta.delete(d);
    this.access.forget(p);
  }

  /** `.wh.NAME`: deletes p as the lower layers have it; what this layer wrote stays. */
  whiteout(p: string, name: string): void {
    if (this.written.has(p)) return;
    if (!this.parentsOk(p, `whiteout ${JSON.stringify(name)}`, false)) return;
    const st = lstatMaybe(this.abs(p));
    if (st === undefined) return;
    if (st.isDirectory() && this.writtenAbove.has(p)) this.pruneLower(p);
    else this.remove(p, st);
  }

  /** `.wh..wh..opq`: deletes what the lower layers have in `dir`, wherever in the tar the marker is. */
  opaque(dir: string, name: string): void {
    if (dir !== "") {
      if (!this.parentsOk(dir, `opaque marker ${JSON.stringify(name)}`, false)) return;
      const st = lstatMaybe(this.abs(dir));
      if (st?.isSymbolicLink() === true) throw this.refusal(`opaque marker ${JSON.stringify(name)} is in a symlink`);
      if (st?.isDirectory() !== true) return;
      this.realDirs.add(dir);
    }
    this.pruneLower(dir);
  }

  /** Deletes everything under `dir` that this layer did not write. */
  private pruneLower(dir: string): void {
    this.access.allow(dir, LIST);
    for (const child of readdirSync(this.abs(dir))) {
      const p = dir === "" ? child : `${dir}/${child}`;
      const st = lstatSync(this.abs(p));
      if (st.isDirectory() && (this.written.has(p) || this.writtenAbove.has(p))) {
        this.realDirs.add(p);
        this.pruneLower(p);
      } else if (!this.written.has(p)) this.remove(p, st);
    }
  }

  /**
   * Folders' modes and times, deepest first (a parent's mode may shut us out of its children):
   * the layer's own, else (rootless) the mode a folder opened had.
   */
  finish(): void {
    const metas = new Map<string, DirMeta>();
    for (const [p, mode] of this.access.opened()) metas.set(p, { mode, atime: undefined, mtime: undefined });
    for (const [p, meta] of this.dirMeta) metas.set(p, meta);
    const dirs = [...metas].sort(([a], [b]) => b.length - a.length);
    for (const [p, meta] of dirs) {
      const abs = this.abs(p);
      if (lstatMaybe(abs)?.isDirectory() !== true) continue;
      chmodSync(abs, meta.mode);
      if (meta.mtime !== undefined) lutimesSync(abs, meta.atime ?? meta.mtime, meta.mtime);
    }
  }
}
