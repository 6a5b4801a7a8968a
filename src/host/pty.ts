// Runs a program on a new pseudo-terminal (node-pty): the PtySpawner that the launcher is handed.
import * as nodePty from "node-pty";

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
  spawn(file: string, args: readonly string[], size: { cols: number; rows: number }): PtyChild;
}

export const nodePtySpawner: PtySpawner = {
  spawn(file, args, size) {
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
