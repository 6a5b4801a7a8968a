// ns mode: the container's processes on the host, found from a launcher's pid: the first process
// below it in another pid namespace is the container's init (enter.sh --inside, or the command with
// --no-init), whose first child is the command.
import { readlinkSync } from "node:fs";
import { processTree } from "./proc-tree.js";

function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The container's init below `pid` (nsrun, or the monitor above it), or undefined before it runs. */
export function containerInit(pid: number): number | undefined {
  const own = pidNamespace(pid);
  // Parents come before their children: monitor → nsrun → init (nsrun's janitor stays in ours).
  return processTree(pid).find((p) => {
    const ns = pidNamespace(p.pid);
    return ns !== undefined && ns !== own;
  })?.pid;
}

/** The command's pid, or undefined when it has not started or has ended. */
export function containerJob(nsrun: number, init: boolean): number | undefined {
  const first = containerInit(nsrun);
  if (first === undefined || !init) return first;
  return processTree(first)[1]?.pid;
}
