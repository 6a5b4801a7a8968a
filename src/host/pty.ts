// Runs a program on a new pseudo-terminal (node-pty, loaded on the first terminal run): the PtySpawner
// that the launcher is handed. A node-pty that is missing or not built is one line naming the fix.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MincError } from "../core/errors.js";
import { packageRoot } from "./paths.js";

export interface PtyChild {
  readonly pid: number;
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  kill(signal: NodeJS.Signals): void;
  onData(listener: (data: Buffer) => void): void;
  /** resolves with the exit status (128+n after signal n) */
  readonly done: Promise<number>;
}

export interface PtySpawner {
  /** rejects with a MincError ("missing-tool") when node-pty cannot be loaded */
  spawn(file: string, args: readonly string[], size: { cols: number; rows: number }): Promise<PtyChild>;
}

type NodePty = typeof import("node-pty");

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "VERSION";
  }
}

/**
 * node-pty, or the error saying how to get it. It is a native addon that npm builds with node-gyp
 * when its install script is allowed; pipe mode never needs it, so only a terminal run loads it.
 */
async function loadNodePty(): Promise<NodePty> {
  try {
    return await import("node-pty");
  } catch (cause) {
    // require's MODULE_NOT_FOUND, or import()'s ERR_MODULE_NOT_FOUND (the bundle keeps import() for externals)
    const code = (cause as NodeJS.ErrnoException).code ?? "";
    const missing = /^(ERR_)?MODULE_NOT_FOUND$/.test(code) && String(cause).includes("'node-pty'");
    const why = missing ? "is not installed" : "is not built (npm skipped its install script)";
    const fix = missing
      ? `reinstall tsminc with it: npm install -g --allow-scripts=node-pty ./tsminc-${packageVersion()}.tgz`
      : `build it: cd ${packageRoot} && npm rebuild node-pty`;
    throw new MincError("missing-tool", `a run on a terminal needs node-pty, which ${why}`, {
      cause,
      hint: `${fix} (or run without a terminal: stdin from a pipe or < /dev/null)`,
    });
  }
}

export const nodePtySpawner: PtySpawner = {
  async spawn(file, args, size) {
    const nodePty = await loadNodePty();
    // encoding null: bytes stay bytes, escape sequences split across reads stay intact.
    const pty = nodePty.spawn(file, [...args], {
      name: process.env.TERM ?? "xterm-256color",
      cols: size.cols,
      rows: size.rows,
      cwd: process.cwd(),
      env: process.env,
      encoding: null,
    });
    const done = new Promise<number>((resolve) => {
      pty.onExit(({ exitCode, signal }) => {
        resolve(signal ? 128 + signal : exitCode);
      });
    });
    return {
      pid: pty.pid,
      write: (data) => {
        pty.write(data);
      },
      resize: (cols, rows) => {
        pty.resize(cols, rows);
      },
      kill: (signal) => {
        pty.kill(signal);
      },
      onData: (listener) => {
        pty.onData((d) => {
          listener(typeof d === "string" ? Buffer.from(d) : (d as Buffer));
        });
      },
      done,
    };
  },
};
