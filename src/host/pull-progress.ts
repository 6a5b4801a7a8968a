// What a pull shows on stderr: one line redrawn in place on a terminal, else a line per blob done.
import type { PullProgress } from "./image-pull.js";

export interface ProgressView {
  readonly update: PullProgress;
  /** ends the redrawn line, if one was drawn */
  finish(): void;
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

export function pullProgress(ref: string, out: NodeJS.WriteStream): ProgressView {
  const blobs = new Map<string, { received: number; total: number | undefined }>();
  const reported = new Set<string>();
  let drawn = false;
  let last = 0;
  const draw = () => {
    const all = [...blobs.values()];
    const got = all.reduce((s, b) => s + b.received, 0);
    const total = all.reduce((s, b) => s + (b.total ?? b.received), 0);
    const done = all.filter((b) => b.total !== undefined && b.received >= b.total).length;
    out.write(`\rtsminc: pulling ${ref}: ${done}/${all.length} layers, ${mib(got)}/${mib(total)} MiB\x1b[K`);
    drawn = true;
  };
  return {
    update(digest, received, total) {
      blobs.set(digest, { received, total });
      if (out.isTTY) {
        const now = Date.now();
        if (now - last >= 100 || (total !== undefined && received >= total)) {
          last = now;
          draw();
        }
      } else if (total !== undefined && received >= total && !reported.has(digest)) {
        reported.add(digest);
        out.write(`tsminc: pulled ${digest.slice(0, 19)} (${mib(total)} MiB)\n`);
      }
    },
    finish() {
      if (drawn) out.write("\n");
      drawn = false;
    },
  };
}
