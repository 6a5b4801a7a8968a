// What a tsminc run may leave behind on the host, looked up for real: tmpdirs, mounts, processes, cgroups.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENT } from "../../src/core/cgroup-plan.js";
import { probeCgroups } from "../../src/host/cgroup.js";

const RUNTIME = "/run/tsminc";

export interface Snapshot {
  readonly tmpdirs: readonly string[];
  readonly mounts: readonly string[];
  readonly processes: readonly string[];
  readonly cgroups: readonly string[];
}

/** Our cgroups (<hierarchy>/tsminc/<run>) in every hierarchy. */
function cgroups(): string[] {
  const facts = probeCgroups();
  const mounts = [...(facts.v2 ? [facts.v2.mount] : []), ...new Set(Object.values(facts.v1))];
  return mounts.flatMap((m) => {
    const parent = join(m, CGROUP_PARENT);
    return existsSync(parent)
      ? readdirSync(parent, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => join(parent, e.name))
      : [];
  });
}

/** Every process working on one of our tmpdirs: qemu, or a ns-mode chain (nsrun, enter.sh). */
function runProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cmdline.some((a) => a.includes(`${RUNTIME}/tsminc-`))) found.push(`${pid} ${cmdline.join(" ")}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

export function snapshot(): Snapshot {
  return {
    tmpdirs: existsSync(RUNTIME) ? readdirSync(RUNTIME).sort() : [],
    mounts: readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(RUNTIME)),
    processes: runProcesses(),
    cgroups: cgroups(),
  };
}

/** Everything new since `before` (should be nothing). */
export function leftSince(before: Snapshot): string[] {
  const now = snapshot();
  return [
    ...now.tmpdirs.filter((t) => !before.tmpdirs.includes(t)).map((t) => `tmpdir ${RUNTIME}/${t}`),
    ...now.mounts.filter((m) => !before.mounts.includes(m)).map((m) => `mount ${m}`),
    ...now.processes.filter((q) => !before.processes.includes(q)).map((q) => `process ${q}`),
    ...now.cgroups.filter((c) => !before.cgroups.includes(c)).map((c) => `cgroup ${c}`),
  ];
}

/**
 * Everything new since `before`, once it had up to `ms` to go: processes die a moment after their
 * parent, and nsrun's janitor leaves just after tsminc.
 */
export async function leftoversAfter(
  before: Snapshot,
  ms = 3000,
  counts: (left: string) => boolean = () => true,
): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = leftSince(before).filter(counts);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}
