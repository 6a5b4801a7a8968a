// What every build step is handed: the runner, the cache, the build log, the reporter and the options.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { Writable } from "node:stream";
import { MincError } from "../src/core/errors.js";
import type { Runner } from "../src/host/runner.js";
import type { Reporter } from "./progress.js";

export interface BreedContext {
  readonly runner: Runner;
  readonly cacheDir: string;
  readonly jobs: number;
  readonly rebuild: boolean;
  /** process.arch of the build host */
  readonly hostNodeArch: string;
  readonly reporter: Reporter;
  readonly log: BuildLog;
}

/** The full build log: a file written synchronously, so its tail is always current when a step fails. */
export class BuildLog extends Writable {
  readonly path: string;
  private readonly fd: number;

  constructor(path: string) {
    super();
    this.path = path;
    this.fd = openSync(path, "a");
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (typeof chunk === "string") writeSync(this.fd, chunk);
    else writeSync(this.fd, chunk);
    done();
  }

  /** the last `n` lines written */
  tail(n: number): string[] {
    const lines = readFileSync(this.path, "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-n);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Everything written goes to the build log, and each whole line to the reporter (live progress). */
class ProgressTee extends Writable {
  private partial = "";

  constructor(
    private readonly log: BuildLog,
    private readonly activity: (line: string) => void,
  ) {
    super();
  }

  override _write(chunk: Buffer | string, enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.log.write(chunk, enc);
    const lines = (this.partial + chunk.toString()).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.activity(line);
    done();
  }
}

/** Runs make (never through a shell), logging everything; a failure carries the log's tail. */
export async function make(ctx: BreedContext, what: string, args: readonly string[], input?: string): Promise<void> {
  ctx.log.write(`\n$ make ${args.join(" ")}\n`);
  const log = new ProgressTee(ctx.log, ctx.reporter.activity);
  const result = await ctx.runner.run("make", args, { log, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0) {
    throw new MincError("build", `${what} failed: make ${args.at(-1) ?? ""} exited with ${result.exitCode}`, {
      hint: `the full log is ${ctx.log.path}`,
      details: ctx.log.tail(30),
    });
  }
}
