// Rootless unpacking: folders a lower layer shut to their owner (0555, 0500) opened during a layer, their modes put back.
import { chmodSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The owner's bits a folder needs: to reach what is in it, to list it, to add or delete in it. */
export const SEARCH = 0o100;
export const LIST = 0o500;
export const WRITE = 0o300;

/** What a folder not ours is recorded as: nothing is tried on it (chmod would fail; the change fails as it would). */
const FOREIGN = 0o7777;

/**
 * The permissions that the layer's own modes would deny their owner, granted for the while of the layer,
 * as rootless podman does. Off (every call a no-op) for root, who needs none of it. Folders are named
 * as paths under the root ("" the root); the callers have checked the folders above to be real folders.
 */
export class DirAccess {
  /** folders opened, with the mode each had before */
  private readonly original = new Map<string, number>();
  /** the mode of each folder looked at, as it is now */
  private readonly modes = new Map<string, number>();

  constructor(
    private readonly root: string,
    readonly enabled: boolean,
    private readonly uid: number | undefined,
  ) {}

  private abs(p: string): string {
    return p === "" ? this.root : join(this.root, p);
  }

  /** Gives the owner the bits `need` on the folder `p` if it lacks them; a symlink there is left alone. */
  allow(p: string, need: number): void {
    if (!this.enabled) return;
    let mode = this.modes.get(p);
    if (mode === undefined) {
      const st = lstatSync(this.abs(p), { throwIfNoEntry: false });
      if (st?.isDirectory() !== true) return;
      mode = st.uid === this.uid ? st.mode & 0o7777 : FOREIGN;
    }
    if ((mode & need) !== need) {
      if (!this.original.has(p)) this.original.set(p, mode);
      mode |= need;
      chmodSync(this.abs(p), mode);
    }
    this.modes.set(p, mode);
  }

  /** Gives the owner every bit on each folder at and under `p` lacking one, for the whole to be deleted. */
  openTree(p: string): void {
    if (!this.enabled) return;
    const walk = (abs: string): void => {
      const st = lstatSync(abs);
      if (!st.isDirectory()) return;
      if ((st.mode & 0o700) !== 0o700 && st.uid === this.uid) chmodSync(abs, (st.mode & 0o7777) | 0o700);
      for (const name of readdirSync(abs)) walk(join(abs, name));
    };
    walk(this.abs(p));
  }

  /** Forgets `p` and the folders under it: deleted, whatever comes there next is new. */
  forget(p: string): void {
    const prefix = `${p}/`;
    for (const map of [this.original, this.modes]) {
      for (const d of map.keys()) if (p === "" || d === p || d.startsWith(prefix)) map.delete(d);
    }
  }

  /** The folders opened, each with the mode to put back. */
  opened(): ReadonlyMap<string, number> {
    return this.original;
  }
}
