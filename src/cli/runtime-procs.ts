// tsminc-runtime's commands on a container's host processes: the monitor and its descendants (in a
// VM: nsrun and qemu, whose guest holds the container's processes; in ns mode: nsrun and the
// container's own processes). `ps` lists them as runc's does (containerd's shim: `ps --format
// json`, for `docker top`); `pause` stops them (SIGSTOP, parents first: qemu stops the whole VM),
// `resume` lets them go on, children first.
import { spawnSync } from "node:child_process";
import { constants } from "node:os";
import { processTree } from "../host/proc-tree.js";
import { readState, statusOf, writeState } from "../host/runtime-state.js";
import { MincError } from "../core/errors.js";
import { fail } from "./runtime-common.js";
import type { RuntimeArgs } from "./runtime-args.js";

/** runc's `ps`: `--format json` prints the pids as a JSON array; the table is `ps` (default -ef) cut to them. */
export function ps(a: RuntimeArgs, root: string, id: string): void {
  const s = readState(root, id);
  const pids = statusOf(s) === "stopped" ? [] : processTree(s.pid).map((p) => p.pid);
  const format = a.options.format ?? "table";
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(pids)}\n`);
    return;
  }
  if (format !== "table") throw fail(`ps --format ${String(format)}: not a format`, "give table or json");
  const psArgs = a.operands.slice(1);
  const r = spawnSync("ps", psArgs.length > 0 ? psArgs : ["-ef"], { encoding: "utf8" });
  if (r.status !== 0)
    throw new MincError("system", `ps ${psArgs.join(" ")} failed: ${r.stderr.trim()}`, { hint: "check ps's options" });
  const [header = "", ...lines] = r.stdout.split("\n");
  const column = header.trim().split(/\s+/).indexOf("PID");
  if (column < 0) throw fail("ps printed no PID column", "give ps options that print one");
  const out = lines.filter((l) => pids.includes(Number(l.trim().split(/\s+/)[column])));
  process.stdout.write([header, ...out, ""].join("\n"));
}

function signalEach(pids: readonly number[], signal: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // it ended meanwhile
    }
  }
}

/** SIGSTOP to the tree, parents first, again until no process is new (a fork between looking and stopping). */
function stopTree(pid: number): void {
  const stopped = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const fresh = processTree(pid)
      .map((p) => p.pid)
      .filter((p) => !stopped.has(p));
    if (fresh.length === 0) return;
    signalEach(fresh, constants.signals.SIGSTOP);
    for (const p of fresh) stopped.add(p);
  }
}

/** SIGCONT to these processes (a tree as processTree lists it), children first. */
export function continueTree(pids: readonly number[]): void {
  signalEach([...pids].reverse(), constants.signals.SIGCONT);
}

export function pause(root: string, id: string): void {
  const s = readState(root, id);
  const status = statusOf(s);
  if (status !== "running") throw fail(`container ${id} is ${status}, not running`, "only a running container pauses");
  stopTree(s.pid);
  writeState(root, { ...s, paused: true });
}

export function resume(root: string, id: string): void {
  const s = readState(root, id);
  const status = statusOf(s);
  if (status !== "paused") throw fail(`container ${id} is ${status}, not paused`, "only a paused container resumes");
  continueTree(processTree(s.pid).map((p) => p.pid));
  writeState(root, { ...s, paused: false });
}
