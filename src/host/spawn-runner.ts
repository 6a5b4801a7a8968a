// A Runner on node:child_process alone, for tsminc's launch path: loading execa costs ~70 ms of
// start-up (measured here), more than the whole host-mode container setup. The breeder keeps execa.
import { spawn as spawnChild, type StdioOptions } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { constants } from "node:os";
import type { Child, RunOptions, RunResult, Runner } from "./runner.js";

function stdioOf(opts: RunOptions, stdoutFd: number | undefined): StdioOptions {
  if (opts.stdio !== undefined) return [...opts.stdio];
  return [opts.input === undefined ? "ignore" : "pipe", stdoutFd ?? "pipe", "pipe"];
}

function start(file: string, args: readonly string[], opts: RunOptions = {}): Child {
  // A file for stdout is handed to the child itself: every byte is in it once the child is gone.
  const stdoutFd = opts.stdoutFile === undefined ? undefined : openSync(opts.stdoutFile, "w");
  let child;
  try {
    child = spawnChild(file, args, {
      stdio: stdioOf(opts, stdoutFd),
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      ...(opts.env === undefined ? {} : { env: opts.extendEnv === false ? opts.env : { ...process.env, ...opts.env } }),
    });
  } finally {
    if (stdoutFd !== undefined) closeSync(stdoutFd);
  }
  let stdout = "";
  let stderr = "";
  if (opts.log !== undefined) child.stdout?.pipe(opts.log, { end: false });
  else child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  if (opts.log !== undefined) child.stderr?.pipe(opts.log, { end: false });
  else child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const exitCode = code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
      resolve({ exitCode, stdout, stderr });
    });
  });
  return {
    pid: child.pid,
    kill: (signal) => {
      child.kill(signal);
    },
    done,
  };
}

export const spawnRunner: Runner = {
  run: (file, args, opts) => start(file, args, opts).done,
  spawn: start,
};
