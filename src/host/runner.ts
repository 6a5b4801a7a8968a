// The Runner interface: how code that runs external programs (the launchers, the breeder, testrun)
// is handed the means to, so tests can pass their own. spawn-runner.ts implements it.
import type { Writable } from "node:stream";

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
  /**
   * Runs `file` with `args` (never through a shell) and resolves with its status; rejects only if it
   * cannot start, with a MincError ("missing-tool") naming the program and the fix.
   */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts `file` with `args`, returning at once with a handle to signal it and await it. */
  spawn(file: string, args: readonly string[], opts?: RunOptions): Child;
}
