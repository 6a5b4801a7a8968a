// ns mode: the container's command on the host, found from nsrun's pid: nsrun's child in another pid
// namespace is the container's init, whose first child is the command (with --no-init, the init).
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

/** The command's pid, or undefined when it has not started or has ended. */
export function containerJob(nsrun: number, init: boolean): number | undefined {
  const own = pidNamespace(nsrun);
  // nsrun's other child, its janitor, stays in the host's pid namespace.
  const first = children(nsrun).find((c) => {
    const ns = pidNamespace(c);
    return ns !== undefined && ns !== own;
  });
  if (first === undefined || !init) return first;
  return children(first)[0];
}
