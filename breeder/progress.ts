// What the user sees of a build: one line per step with its elapsed time, live progress of the long
// steps (objects built out of the last build's count, the file being built), download progress,
// notices. On a terminal the live line updates in place; in a pipe a plain line comes every 30 s.
import { readFileSync, writeFileSync } from "node:fs";
import type { Writable } from "node:stream";

export interface Reporter {
  /** Runs `fn` as the step `label`, printing a line when it ends; `fn` says whether it found the result cached. */
  readonly step: <T>(label: string, fn: () => Promise<{ value: T; cached: boolean; note?: string }>) => Promise<T>;
  /** a line of the running step's build output (kbuild's "  CC      kernel/fork.o" lines count) */
  readonly activity: (line: string) => void;
  readonly notice: (line: string) => void;
  /** a progress callback for downloading `name` */
  readonly progress: (name: string) => (received: number, total: number | undefined) => void;
}

export interface ReporterOptions {
  /** where each step's count of built objects is kept, the estimate for its next build */
  readonly estimatesFile?: string;
  readonly now?: () => number;
}

const mib = (n: number) => (n / 1048576).toFixed(1);

/** 75 s as "1m15s", 9.5 s as "9s". */
export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** kbuild's quiet lines: two spaces, a tag (CC, AS, LD, AR, HOSTCC, ...), the target. */
const BUILT = /^ {2}([A-Z][A-Z0-9_]*) +(\S+)/;

/** The live line of a running step: objects so far (of the estimate), the latest target, the time. */
export function liveLine(
  label: string,
  count: number,
  estimate: number | undefined,
  target: string,
  ms: number,
): string {
  const of = estimate === undefined ? `${count} objects` : `${count}/${estimate} objects`;
  return `  ${label.padEnd(28)} ${of}, ${elapsed(ms)}${target === "" ? "" : `  ${target}`}`;
}

function readEstimates(file: string | undefined): Record<string, number> {
  if (file === undefined) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    return {};
  }
}

export function createReporter(
  out: Writable & { isTTY?: boolean; columns?: number },
  opts: ReporterOptions = {},
): Reporter {
  const tty = out.isTTY === true;
  const now = opts.now ?? (() => performance.now());
  const estimates = readEstimates(opts.estimatesFile);
  let live: { label: string; started: number; count: number; shown: number } | undefined;
  return {
    async step(label, fn) {
      const started = now();
      live = { label, started, count: 0, shown: started };
      if (tty) out.write(`  ${label} ...`);
      const clear = () => tty && out.write("\r\x1b[K");
      try {
        const { value, cached, note } = await fn();
        const seconds = ((now() - started) / 1000).toFixed(1);
        clear();
        out.write(
          `  ${label.padEnd(28)} ${cached ? "cached" : "done  "} ${seconds.padStart(6)} s${note ? `  ${note}` : ""}\n`,
        );
        if (live.count > 0 && opts.estimatesFile !== undefined) {
          estimates[label] = live.count;
          writeFileSync(opts.estimatesFile, JSON.stringify(estimates, null, 2) + "\n");
        }
        return value;
      } catch (err) {
        const seconds = ((now() - started) / 1000).toFixed(1);
        clear();
        out.write(`  ${label.padEnd(28)} FAILED ${seconds.padStart(6)} s\n`);
        throw err;
      } finally {
        live = undefined;
      }
    },
    activity(line) {
      const m = BUILT.exec(line);
      if (live === undefined || m === null) return;
      live.count++;
      const t = now();
      if (tty) {
        // At most ten updates a second, cut to the terminal's width.
        if (t - live.shown < 100) return;
        live.shown = t;
        const text = liveLine(live.label, live.count, estimates[live.label], m[2] ?? "", t - live.started);
        out.write(`\r\x1b[K${text.slice(0, (out.columns ?? 80) - 1)}`);
      } else if (t - live.shown >= 30_000) {
        live.shown = t;
        out.write(`${liveLine(live.label, live.count, estimates[live.label], "", t - live.started)}\n`);
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
