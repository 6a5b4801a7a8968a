// tsminc-runtime's state of a container: a folder per ID under the state root (runc's /run/runc
// counterpart), holding state.json and the fifo `start` writes to, and the OCI status read from the
// container's monitor process.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MincError } from "../core/errors.js";

export interface RuntimeState {
  readonly id: string;
  readonly bundle: string;
  /** the monitor: the process whose exit status is the container's */
  readonly pid: number;
  /** its start time (field 22 of /proc/PID/stat), so a reused pid is not taken for it */
  readonly pidStart: string;
  readonly started: boolean;
  /** pause stopped its processes (resume, or a kill, lets them go on) */
  readonly paused?: boolean;
  readonly created: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export type OciStatus = "created" | "running" | "paused" | "stopped";

/** The state root: --root, else /run/tsminc-runtime (root) or $XDG_RUNTIME_DIR/tsminc-runtime. */
export function stateRoot(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (given !== undefined) return given;
  if (process.getuid?.() === 0) return "/run/tsminc-runtime";
  return join(env.XDG_RUNTIME_DIR ?? `/tmp/tsminc-runtime-${process.getuid?.() ?? 0}`, "tsminc-runtime");
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,1023}$/;

export function checkId(id: string | undefined): string {
  if (id === undefined || !ID.test(id))
    throw new MincError("usage", `container ID ${JSON.stringify(id ?? "")} is not valid`, {
      hint: "IDs are letters, digits, _ . - (not starting with a symbol)",
    });
  return id;
}

/** A unix socket's path holds 107 bytes; a state folder keeps room for its sockets' names ("/exec.sock"). */
const SOCKET_PATH_MAX = 107;
const SOCKET_NAME_ROOM = 16;

/**
 * The folder of `id`: named by the ID, or, where a socket in it would have too long a path (docker's
 * 64-character IDs under its --root /var/run/docker/runtime-runc/moby), by a hash of it ("_" and
 * hex: never an ID).
 */
export function stateDir(root: string, id: string): string {
  const plain = join(root, id);
  if (Buffer.byteLength(plain) + SOCKET_NAME_ROOM <= SOCKET_PATH_MAX) return plain;
  return join(root, `_${createHash("sha256").update(id).digest("hex").slice(0, 24)}`);
}
export const startFifo = (dir: string) => join(dir, "start.fifo");

/** Field 22 of /proc/PID/stat (start time) and field 3 (state); undefined when the process is gone. */
export function procStat(pid: number): { start: string; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", start: fields[19] ?? "" };
  } catch {
    return undefined;
  }
}

export function readState(root: string, id: string): RuntimeState {
  try {
    return JSON.parse(readFileSync(join(stateDir(root, id), "state.json"), "utf8")) as RuntimeState;
  } catch {
    // podman and containerd read "does not exist" as: the container is gone
    throw new MincError("usage", `container ${id} does not exist`, { hint: "see tsminc-runtime list" });
  }
}

export function writeState(root: string, state: RuntimeState): void {
  const dir = stateDir(root, state.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "state.json");
  writeFileSync(`${file}.part`, JSON.stringify(state));
  renameSync(`${file}.part`, file);
}

/** The monitor lives (and is not a zombie its parent has yet to reap) as the same process. */
export function monitorAlive(state: RuntimeState): boolean {
  const stat = procStat(state.pid);
  return stat !== undefined && stat.state !== "Z" && stat.start === state.pidStart;
}

export function statusOf(state: RuntimeState): OciStatus {
  if (!monitorAlive(state)) return "stopped";
  if (!state.started) return "created";
  return state.paused === true ? "paused" : "running";
}

export function removeState(root: string, id: string): void {
  rmSync(stateDir(root, id), { recursive: true, force: true });
}

export function listIds(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => {
    try {
      return [(JSON.parse(readFileSync(join(root, d, "state.json"), "utf8")) as RuntimeState).id];
    } catch {
      return []; // not a container's folder, or one being made or removed
    }
  });
}
