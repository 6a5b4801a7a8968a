// Processes a test looks for: the children of a run (its qemu, its nsrun), waited for as events.
import { readdirSync, readFileSync } from "node:fs";

/** Children of `pid` whose command name starts with `name`. */
export function childrenNamed(pid: number, name: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return ppid === pid && stat.includes(`(${name}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Resolves with the first child of `pid` named `name` once it exists; rejects if none comes in `ms`. */
export async function childNamed(pid: number | undefined, name: string, ms = 60_000): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const [found] = pid === undefined ? [] : childrenNamed(pid, name);
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`process ${String(pid)} started no ${name} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every process but this one whose command line names `text` (a run's folder, a daemon's root). */
export function processesNaming(text: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}
