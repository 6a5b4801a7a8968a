// Bench cases for file-heavy work on a Debian root: find, reading every file under /usr/share and a
// package manager query, timed by the guest's own clock inside one run each, on the root disk
// (--root-disk), over 9p (the default), on a copy in the guest's tmpfs (the in-VM floor) and in host
// mode; the runs interleave round by round.
import type { ArchName } from "../src/core/arch.js";
import { join } from "node:path";
import { packageRoot } from "../src/host/paths.js";
import { spawnRunner } from "../src/host/spawn-runner.js";

const TSMINC = join(packageRoot, "dist/bundle/tsminc.cjs");

/** The work, each line "NAME SECONDS": bash and coreutils' date, both in the Debian root. */
const WORK = [
  "now() { date +%s.%N; }",
  'span() { awk -v a="$1" -v b="$2" "BEGIN { printf \\"%.3f\\", b - a }"; }',
  'run() { local name=$1 a b; shift; a=$(now); "$@" >/dev/null 2>&1 || echo "failed $name"; b=$(now); echo "$name $(span "$a" "$b")"; }',
  "run find $P find /usr/share",
  'run read-all $P sh -c "find /usr/share -type f -exec cat {} + >/dev/null"',
  "run dpkg-S $P dpkg -S /bin/ls",
].join("\n");

/** The floor: the same work chrooted into a copy of the root in a tmpfs of the guest. */
const FLOOR = [
  "mkdir -p /tmp/copy && mount -t tmpfs tmpfs /tmp/copy || exit 1",
  "for d in usr etc var bin lib lib64 sbin; do [ -e /$d ] && cp -a /$d /tmp/copy/; done",
  "mkdir -p /tmp/copy/proc /tmp/copy/dev /tmp/copy/tmp",
  'P="chroot /tmp/copy"',
  WORK,
].join("\n");

export const FILE_CASES = ["find", "read-all", "dpkg-S"] as const;
const MODES = ["root disk", "9p", "tmpfs floor", "host mode"] as const;
type Mode = (typeof MODES)[number];

function argv(mode: Mode, arch: ArchName, root: string): string[] {
  const vm = ["--qemu", "--arch", arch];
  switch (mode) {
    case "root disk":
      return [...vm, "--root-disk", "-r", root, "bash", "-c", `P=""\n${WORK}`];
    case "9p":
      return [...vm, "-r", root, "bash", "-c", `P=""\n${WORK}`];
    case "tmpfs floor":
      // mount and chroot: the floor's copy needs the room and the powers of a privileged container.
      return [...vm, "--privileged", "-r", root, "bash", "-c", FLOOR];
    case "host mode":
      return ["--arch", arch, "-r", root, "bash", "-c", `P=""\n${WORK}`];
  }
}

/**
 * `rounds` rounds of every mode on the Debian root of `arch`, then a table (medians, seconds) and
 * the targets: each case on the root disk within 2 x its tmpfs floor.
 */
export async function fileCases(arch: ArchName, root: string, rounds: number): Promise<string> {
  const times = new Map<string, number[]>();
  for (let i = 0; i < rounds; i++) {
    for (const mode of [...MODES.slice(i % MODES.length), ...MODES.slice(0, i % MODES.length)]) {
      const r = await spawnRunner.run(process.execPath, [TSMINC, ...argv(mode, arch, root)]);
      if (r.exitCode !== 0 || r.stdout.includes("failed"))
        throw new Error(`bench: ${arch} ${mode} file cases failed (${r.exitCode}): ${r.stdout}${r.stderr}`);
      for (const line of r.stdout.trim().split("\n")) {
        const [name, seconds] = line.split(" ");
        const key = `${mode}\0${name ?? ""}`;
        times.set(key, [...(times.get(key) ?? []), Number(seconds)]);
      }
    }
  }
  const median = (mode: Mode, name: string) => {
    const s = [...(times.get(`${mode}\0${name}`) ?? [])].sort((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
  };
  const head = `${arch} Debian root, seconds (median of ${rounds}, timed in the container)`;
  const rows = FILE_CASES.map(
    (name) =>
      `  ${name.padEnd(9)} ` +
      MODES.map((m) => `${m} ${median(m, name).toFixed(3)}`).join("  ") +
      `  | root disk / floor ${(median("root disk", name) / median("tmpfs floor", name)).toFixed(2)}` +
      `  9p / floor ${(median("9p", name) / median("tmpfs floor", name)).toFixed(2)}`,
  );
  const targets = FILE_CASES.map((name) => {
    const ratio = median("root disk", name) / median("tmpfs floor", name);
    return `target ${arch}: ${name} on the root disk / its tmpfs floor: ${ratio.toFixed(2)} (goal <= 2.00) ${ratio <= 2 ? "met" : "NOT met"}`;
  });
  return [head, ...rows, ...targets].join("\n") + "\n";
}
