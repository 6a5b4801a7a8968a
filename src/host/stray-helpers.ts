// Helper processes (slirp4netns) still serving a run's tmpdir: found through their --api-socket.
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";

export interface StrayHelper {
  readonly pid: number;
  readonly name: string;
  /** the run's tmpdir, e.g. /run/tsminc/tsminc-AbC123 */
  readonly tmpdir: string;
}

/** Every slirp4netns whose API socket lies in a run's tmpdir under runtimeDir. */
export function helpersOfRuns(runtimeDir: string): StrayHelper[] {
  const prefix = `--api-socket=${runtimeDir}/tsminc-`;
  const found: StrayHelper[] = [];
  for (const entry of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // it ended while we looked
    }
    if (basename(argv[0] ?? "") !== "slirp4netns") continue;
    const socket = argv.find((a) => a.startsWith(prefix));
    if (socket === undefined) continue;
    const run = socket.slice(prefix.length).split("/")[0] ?? "";
    found.push({ pid: Number(entry), name: "slirp4netns", tmpdir: `${runtimeDir}/tsminc-${run}` });
  }
  return found;
}
