// What the user sees of a build: one line per step with its elapsed time, download progress, notices.
import type { Writable } from "node:stream";

export interface Reporter {
  /** Runs `fn` as the step `label`, printing a line when it ends; `fn` says whether it found the result cached. */
  readonly step: <T>(label: string, fn: () => Promise<{ value: T; cached: boolean; note?: string }>) => Promise<T>;
  readonly notice: (line: string) => void;
  /** a progress callback for downloading `name` */
  readonly progress: (name: string) => (received: number, total: number | undefined) => void;
}

const mib = (n: number) => (n / 1048576).toFixed(1);

export function createReporter(out: Writable & { isTTY?: boolean; columns?: number }): Reporter {
  const tty = out.isTTY === true;
  return {
    async step(label, fn) {
      const started = performance.now();
      if (tty) out.write(`  ${label} ...`);
      const clear = () => tty && out.write("\r\x1b[K");
      try {
        const { value, cached, note } = await fn();
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        clear();
        out.write(
          `  ${label.padEnd(28)} ${cached ? "cached" : "done  "} ${seconds.padStart(6)} s${note ? `  ${note}` : ""}\n`,
        );
        return value;
      } catch (err) {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        clear();
        out.write(`  ${label.padEnd(28)} FAILED ${seconds.padStart(6)} s\n`);
        throw err;
      }
    },
    notice(line) {
      if (tty) out.write("\r\x1b[K");
      out.write(`tsermine: ${line}\n`);
    },
    progress(name) {
      let lastShown = -1;
      return (received, total) => {
        if (tty) {
          const width = 30;
          const frac = total ? Math.min(1, received / total) : 0;
          const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
          out.write(`\r\x1b[K  download ${name} [${bar}] ${mib(received)}${total ? `/${mib(total)}` : ""} MiB`);
          if (total !== undefined && received >= total) out.write("\r\x1b[K");
        } else {
          const quarter = total ? Math.floor((4 * received) / total) : 0;
          if (quarter !== lastShown) {
            lastShown = quarter;
            out.write(`  download ${name}: ${mib(received)}${total ? ` of ${mib(total)}` : ""} MiB\n`);
          }
        }
      };
    },
  };
}
