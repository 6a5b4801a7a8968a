// What tsminc-runtime's commands share: the usage error, the bundle's config.json, the console
// socket's checks, and starting a detached process (a container's monitor, an exec session) that
// the engine waits for.
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { MincError } from "../core/errors.js";
import { procStat } from "../host/runtime-state.js";

export const fail = (message: string, hint: string) => new MincError("usage", message, { hint });

export function readSpec(bundle: string): string {
  try {
    return readFileSync(join(bundle, "config.json"), "utf8");
  } catch (cause) {
    throw new MincError("usage", `no config.json in the bundle ${bundle}`, { hint: "give --bundle DIR", cause });
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** A terminal is asked for (process.terminal) exactly when a console socket is given, and that is one. */
export function checkConsole(terminal: boolean, socket: string | undefined, what: string): void {
  if (terminal && socket === undefined)
    throw fail(
      `${what} asks for a terminal (process.terminal) and no --console-socket was given`,
      "give --console-socket PATH",
    );
  if (!terminal && socket !== undefined)
    throw fail(`--console-socket needs process.terminal in ${what}`, "drop --console-socket, or set process.terminal");
  if (socket !== undefined && !isSocket(socket))
    throw fail(`--console-socket ${socket} is not a listening unix socket`, "give the engine's console socket");
}

/** nsrun's front for a process on a new terminal whose master goes to the engine's console socket. */
export function consoleArgs(imageDir: string, socket: string, size: { rows: number; cols: number }): string[] {
  const sized = size.rows > 0 && size.cols > 0 ? ["--console-size", String(size.rows), String(size.cols)] : [];
  return [join(imageDir, "nsrun"), "--console-socket", resolve(socket), ...sized, "--"];
}

/**
 * Starts `argv` in a session of its own with the engine's stdio (fds 0-2, byte for byte) and a pipe
 * on fd 3 that it closes once ready; resolves with its pid, or undefined when it ended before that
 * (it said why on stderr). The engine (conmon, a subreaper) inherits it once this process exits.
 */
export async function spawnReady(argv: readonly string[]): Promise<number | undefined> {
  const [file = process.execPath, ...args] = argv;
  const child = spawn(file, args, { detached: true, stdio: ["inherit", "inherit", "inherit", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new MincError("system", `cannot start ${file}`, { hint: "check node" });
  const ready = child.stdio[3];
  if (ready instanceof Readable) {
    ready.resume();
    await new Promise<void>((done) => {
      ready.on("close", done);
    });
  }
  // One that ended is a zombie or gone by now; a ready one goes on.
  const stat = procStat(pid);
  if (child.exitCode !== null || child.signalCode !== null || stat === undefined || stat.state === "Z")
    return undefined;
  child.unref();
  return pid;
}

/** --preserve-fds N: descriptors beyond stdio do not reach the container (a VM cannot take them). */
export function refuseExtraFds(preserve: string | true | undefined, what: string): void {
  if (preserve === undefined || preserve === true || preserve === "0") return;
  throw fail(
    `${what} --preserve-fds ${preserve}: descriptors besides stdin, stdout and stderr cannot reach the container`,
    "drop --preserve-fds (podman run --preserve-fds)",
  );
}
