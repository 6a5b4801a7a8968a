// What a tsminc run may leave behind on the host, looked up for real: tmpdirs, mounts, qemu processes.
import { existsSync, readdirSync, readFileSync } from "node:fs";

const RUNTIME = "/run/tsminc";

export interface Snapshot {
  readonly tmpdirs: readonly string[];
  readonly mounts: readonly string[];
  readonly qemus: readonly string[];
}

function qemuProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if ((cmdline[0] ?? "").includes("qemu-system") && cmdline.some((a) => a.includes(RUNTIME)))
        found.push(`${pid} ${cmdline.join(" ")}`);
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
    qemus: qemuProcesses(),
  };
}

/** Everything new since `before` (should be nothing). */
export function leftSince(before: Snapshot): string[] {
  const now = snapshot();
  return [
    ...now.tmpdirs.filter((t) => !before.tmpdirs.includes(t)).map((t) => `tmpdir ${RUNTIME}/${t}`),
    ...now.mounts.filter((m) => !before.mounts.includes(m)).map((m) => `mount ${m}`),
    ...now.qemus.filter((q) => !before.qemus.includes(q)).map((q) => `qemu ${q}`),
  ];
}
