// ns mode: the container's processes on the host, found from a launcher's pid: the first process
// below it in another pid namespace is the container's init (enter.sh --inside, or the command with
// --no-init), whose first child is the command.
import { readFileSync, readlinkSync } from "node:fs";

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((w) => w !== "")
      .map(Number);
  } catch {
    return [];
  }
}

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
  let level = children(pid);
  // monitor → nsrun → init; nsrun's janitor stays in the host's pid namespace.
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    const init = level.find((c) => {
      const ns = pidNamespace(c);
      return ns !== undefined && ns !== own;
    });
    if (init !== undefined) return init;
    level = level.flatMap(children);
  }
  return undefined;
}

/** The command's pid, or undefined when it has not started or has ended. */
export function containerJob(nsrun: number, init: boolean): number | undefined {
  const first = containerInit(nsrun);
  if (first === undefined || !init) return first;
  return children(first)[0];
}
