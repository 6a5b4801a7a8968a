// What the engine tests (podman, docker) share: running an engine's client as a test does (its
// status, stdout as bytes, stderr as text; never a throw for a failed command), waiting until a
// container's logs hold a line, and a shell's dialog on a terminal (run -it, exec -it).
import assert from "node:assert/strict";
import { constants } from "node:os";
import { execa } from "execa";
import type { Session } from "./tsminc.js";

export interface EngineResult {
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface EngineOptions {
  /** Fed to the client's stdin (else stdin is /dev/null). */
  readonly input?: string | Buffer | undefined;
  /** Added to the environment the client inherits. */
  readonly env?: NodeJS.ProcessEnv | undefined;
}

const statusOf = (exitCode: number | undefined, signal: NodeJS.Signals | undefined): number =>
  exitCode ?? 128 + (signal === undefined ? 0 : constants.signals[signal]);

/** Runs `file` with `args`; never throws for a failed command. */
export async function runEngine(
  file: string,
  args: readonly string[],
  opts: EngineOptions = {},
): Promise<EngineResult> {
  const r = await execa(file, args, {
    reject: false,
    encoding: "buffer",
    stripFinalNewline: false,
    ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  return {
    status: statusOf(r.exitCode, r.signal),
    stdout: Buffer.from(r.stdout),
    stderr: Buffer.from(r.stderr).toString(),
  };
}

/** Polls `<engine> logs NAME` until it holds `text` (the container said it is ready); its stdout and stderr. */
export async function logsInclude(
  engine: (args: readonly string[]) => Promise<EngineResult>,
  name: string,
  text: string,
): Promise<string> {
  const until = Date.now() + 60_000;
  for (;;) {
    const logs = await engine(["logs", name]);
    const out = logs.stdout.toString() + logs.stderr;
    if (out.includes(text)) return out;
    if (Date.now() > until) throw new Error(`no "${text}" in the logs of ${name}: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A shell on the session's terminal of `size`: its prompt, `stty size` saying that size, `exit N` → N. */
export async function shellDialog(s: Session, size: { rows: number; cols: number }, status: number): Promise<void> {
  await s.waitFor(/# $/);
  s.write("stty size\r");
  await s.waitFor(new RegExp(`\\r\\n${size.rows} ${size.cols}\\r\\n`));
  s.write(`exit ${status}\r`);
  assert.equal(await s.exited, status, s.screen());
}
