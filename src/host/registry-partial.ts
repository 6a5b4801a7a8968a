// A blob download's partial file: leftovers of earlier downloads claimed to resume, the sha256 of what it holds so far.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { sizeOf } from "./download.js";
import { pidAlive } from "./pid-alive.js";

/**
 * Makes `mine` (dest.partial.PID.N, this call's own file) hold the longest leftover of an earlier
 * download: the parked dest.partial, or the file of a process that died mid-download. A rename is
 * atomic, so of two calls claiming one leftover, one gets it and the other starts afresh; files of
 * live processes are never touched. The other dead leftovers are removed.
 */
export async function claimLeftover(dest: string, mine: string): Promise<void> {
  const dir = dirname(dest);
  const parked = `${basename(dest)}.partial`;
  const names = await readdir(dir).catch(() => []);
  const dead = names.filter((n) => {
    if (!n.startsWith(`${parked}.`)) return false;
    const m = /^(\d+)\.\d+$/.exec(n.slice(parked.length + 1));
    const pid = Number(m?.[1] ?? Number.NaN);
    return m !== null && pid !== process.pid && !pidAlive(pid);
  });
  const candidates = await Promise.all(
    [...names.filter((n) => n === parked), ...dead].map(async (n) => ({
      path: join(dir, n),
      size: await sizeOf(join(dir, n)),
    })),
  );
  candidates.sort((a, b) => b.size - a.size);
  let claimed = false;
  for (const c of candidates) {
    if (!claimed) {
      claimed = await rename(c.path, mine).then(
        () => true,
        () => false,
      );
    } else await rm(c.path, { force: true });
  }
}

/** The sha256 of a download so far: the bytes already in `part`, then each chunk as it arrives. */
export class Digester {
  private hash: Hash = createHash("sha256");
  private fed = 0;

  reset(): void {
    this.hash = createHash("sha256");
    this.fed = 0;
  }

  /** Makes the hash cover exactly the `size` bytes of `part`, rereading it only when it must. */
  async catchUp(part: string, size: number): Promise<void> {
    if (this.fed === size) return;
    this.reset();
    if (size === 0) return;
    for await (const chunk of createReadStream(part, { end: size - 1 })) this.update(chunk as Buffer);
  }

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.fed += chunk.length;
  }

  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}
