// Runs the built tsminc as a user would: through pipes (bytes kept) or on a pseudo-terminal.
import { join } from "node:path";
import { execa } from "execa";
import * as nodePty from "node-pty";
import { packageRoot } from "../../src/host/paths.js";

// The bundle package.json names as the bin: what users run.
export const TSMINC = join(packageRoot, "dist/bundle/tsminc.cjs");

export interface Run {
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly seconds: number;
}

/** A user to run as: tsminc goes through setpriv with these ids and no supplementary groups. */
export interface AsUser {
  readonly uid: number;
  readonly gid: number;
}

export function asUserArgv(user: AsUser | undefined, argv: readonly string[]): [string, string[]] {
  if (user === undefined) return [argv[0] ?? "", argv.slice(1)];
  return ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", ...argv]];
}

export async function tsminc(
  args: readonly string[],
  input?: string | Buffer,
  user?: AsUser,
  env: Readonly<Record<string, string>> = {},
): Promise<Run> {
  const started = performance.now();
  const [file, argv] = asUserArgv(user, [process.execPath, TSMINC, ...args]);
  const r = await execa(file, argv, {
    env,
    reject: false,
    encoding: "buffer",
    stripFinalNewline: false,
    timeout: 180_000,
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
  });
  return {
    status: r.exitCode ?? 255,
    stdout: Buffer.from(r.stdout),
    stderr: Buffer.from(r.stderr).toString(),
    seconds: (performance.now() - started) / 1000,
  };
}

/** tsminc started in the background: its pid, a way to signal it, its output so far, its end. */
export function startTsminc(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
  const child = execa(process.execPath, [TSMINC, ...args], { env, reject: false, stdin: "ignore", buffer: false });
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  return {
    pid: child.pid,
    kill: (signal: NodeJS.Signals) => child.kill(signal),
    output: () => stdout,
    /** resolves once stdout holds `text` (rejects after a minute) */
    async outputIncludes(text: string) {
      const until = Date.now() + 60_000;
      while (!stdout.includes(text)) {
        if (Date.now() > until) throw new Error(`no "${text}" in ${JSON.stringify(stdout)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    done: child.then((r) => r.exitCode ?? 128),
  };
}

export interface Session {
  readonly screen: () => string;
  write(text: string): void;
  resize(cols: number, rows: number): void;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  readonly exited: Promise<number>;
}

/** tsminc on a pseudo-terminal of the given size, as in an interactive terminal. */
export function terminalSession(
  args: readonly string[],
  size: { cols: number; rows: number },
  env: Readonly<Record<string, string>> = {},
): Session {
  return ptySession(process.execPath, [TSMINC, ...args], size, env);
}

/** Any program on a new pseudo-terminal of this size, driven like a user at a terminal. */
export function ptySession(
  file: string,
  args: readonly string[],
  size: { cols: number; rows: number },
  env: Readonly<Record<string, string>> = {},
): Session {
  const pty = nodePty.spawn(file, [...args], {
    ...size,
    name: env.TERM ?? "xterm",
    env: { ...process.env, ...env },
  });
  let screen = "";
  pty.onData((d) => (screen += d));
  const exited = new Promise<number>((resolve) =>
    pty.onExit((e) => {
      resolve(e.exitCode);
    }),
  );
  return {
    screen: () => screen,
    write: (text) => {
      pty.write(text);
    },
    resize: (cols, rows) => {
      pty.resize(cols, rows);
    },
    async waitFor(pattern, ms = 60_000) {
      const until = Date.now() + ms;
      while (!pattern.test(screen)) {
        if (Date.now() > until) {
          // The test fails here: tsminc (and its VM with it) must not outlive it.
          pty.kill("SIGKILL");
          throw new Error(`no ${String(pattern)} on the screen: ${JSON.stringify(screen)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
  };
}
