// Runs external programs: the Runner interface that callers are handed, and its execa implementation.
import { constants } from "node:os";
import type { Writable } from "node:stream";
import { execa, type Options } from "execa";

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** false: `env` is the child's whole environment, instead of additions to this process's */
  readonly extendEnv?: boolean;
  /** stdout and stderr go here, interleaved, instead of being captured */
  readonly log?: Writable;
  readonly input?: string;
  /** stdout goes to this file (bytes as they are), stderr is captured */
  readonly stdoutFile?: string;
  /**
   * The child's stdin, stdout and stderr: "ignore", "inherit" (this process's own) or a file
   * descriptor of this process (e.g. 2: the child's stdout goes to our stderr).
   */
  readonly stdio?: readonly [StdioSlot, StdioSlot, StdioSlot];
}

export type StdioSlot = "ignore" | "inherit" | number;

export interface RunResult {
  readonly exitCode: number;
  /** captured stdout (empty when `log`, `stdoutFile` or `stdio` was given) */
  readonly stdout: string;
  /** captured stderr (empty when `log` or `stdio` was given) */
  readonly stderr: string;
}

export interface Child {
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  /** resolves with the status once it exits (128+n after signal n); rejects only if it could not start */
  readonly done: Promise<RunResult>;
}

export interface Runner {
  /** Runs `file` with `args` (never through a shell) and resolves with its status; rejects only if it cannot start. */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts `file` with `args`, returning at once with a handle to signal it and await it. */
  spawn(file: string, args: readonly string[], opts?: RunOptions): Child;
}

function signalNumber(signal: string | undefined): number {
  if (signal === undefined) return 0;
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

function execaOptions(opts: RunOptions): Options {
  const logged = opts.log !== undefined;
  return {
    reject: false,
    stripFinalNewline: false,
    all: logged,
    buffer: !logged,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.env === undefined ? {} : { env: opts.env, extendEnv: opts.extendEnv ?? true }),
    ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    ...(opts.stdoutFile === undefined ? {} : { stdout: { file: opts.stdoutFile } }),
    // execa takes a file descriptor number for any of the three; its types spell that per stream.
    ...(opts.stdio === undefined
      ? {}
      : {
          stdin: opts.stdio[0] as Options["stdin"] & string,
          stdout: opts.stdio[1] as Options["stdout"] & string,
          stderr: opts.stdio[2] as Options["stderr"] & string,
        }),
  };
}

function start(file: string, args: readonly string[], opts: RunOptions = {}): Child {
  const child = execa(file, args, execaOptions(opts));
  if (opts.log !== undefined) child.all?.pipe(opts.log, { end: false });
  const done = child.then((result) => {
    if (result.exitCode === undefined && result.signal === undefined) {
      // It never started (ENOENT, EACCES): that is the caller's error to report, not a status.
      throw result.cause instanceof Error ? result.cause : new Error(result.message);
    }
    return {
      exitCode: result.exitCode ?? 128 + signalNumber(result.signal),
      stdout: typeof result.stdout === "string" ? result.stdout : "",
      stderr: typeof result.stderr === "string" ? result.stderr : "",
    };
  });
  return { pid: child.pid, kill: (signal) => child.kill(signal), done };
}

export const execaRunner: Runner = {
  run: (file, args, opts) => start(file, args, opts).done,
  spawn: start,
};
