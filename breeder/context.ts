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

/** Runs make (never through a shell), logging everything; a failure carries the log's tail. */
export async function make(ctx: BreedContext, what: string, args: readonly string[], input?: string): Promise<void> {
  ctx.log.write(`\n$ make ${args.join(" ")}\n`);
  const result = await ctx.runner.run("make", args, { log: ctx.log, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0) {
    throw new MincError("build", `${what} failed: make ${args.at(-1) ?? ""} exited with ${result.exitCode}`, {
      hint: `the full log is ${ctx.log.path}`,
      details: ctx.log.tail(30),
    });
  }
}
