// The Runner, on node:child_process alone: for tsminc's launch path (loading execa cost ~70 ms of
// start-up, measured here, more than the whole ns-mode container setup) and the breeder alike.
import { spawn as spawnChild, type StdioOptions } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { constants } from "node:os";
import { ARCH_NAMES, ARCHES } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import type { Child, RunOptions, RunResult, Runner } from "./runner.js";

/** The Debian package of the programs whose absence a user may meet at run time. */
const PACKAGES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(ARCH_NAMES.map((a) => [ARCHES[a].qemuBinary, ARCHES[a].qemuPackage])),
  stty: "coreutils",
  slirp4netns: "slirp4netns",
  tar: "tar",
  "dpkg-deb": "dpkg",
  "apt-get": "apt",
  make: "make",
};

/** Why `file` could not be started, as the one-line error the CLI prints. */
export function spawnFailure(file: string, err: NodeJS.ErrnoException): MincError {
  const name = file.slice(file.lastIndexOf("/") + 1);
  if (err.code === "ENOENT") {
    const pkg = PACKAGES[name];
    return new MincError("missing-tool", `cannot run ${file}: it is not installed (or not on PATH)`, {
      cause: err,
      hint: pkg === undefined ? `install ${name}, or put it on PATH` : `apt-get install ${pkg}`,
    });
  }
  return new MincError(
    "missing-tool",
    `cannot run ${file}: ${err.code === "EACCES" ? "permission denied" : err.message}`,
    {
      cause: err,
      hint: "check that it is executable, and that its folder is not mounted noexec",
    },
  );
}

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
    child.once("error", (err: NodeJS.ErrnoException) => {
      reject(spawnFailure(file, err));
    });
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
