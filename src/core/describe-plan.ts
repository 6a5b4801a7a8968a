// The human-readable plan that --dry-run prints, the qemu argv shell-quoted. Pure.
import type { RunConfig } from "../config/run-config.js";
import { ARCHES } from "./arch.js";
import type { LaunchPlan } from "./launch-plan.js";
import { shellJoin, shellQuote } from "./shell-quote.js";

function describeLimits(config: RunConfig, version: 1 | 2): string {
  const l = config.limits;
  const parts = [
    ...(l?.memBytes === undefined ? [] : [`memory ${l.memBytes / 2 ** 20} MiB`]),
    ...(l?.cpus === undefined ? [] : [`${l.cpus} cpu`]),
    ...(l?.pids === undefined ? [] : [`${l.pids} processes`]),
  ];
  return `${parts.join(", ")} for qemu (cgroup v${version})`;
}

export function describePlan(config: RunConfig, plan: LaunchPlan): string {
  const rows: [string, string][] = [
    ["arch", `${plan.arch} (${ARCHES[plan.arch].qemuBinary}, ${plan.accel}: ${plan.accelReason})`],
    ["image", `${plan.image.dir} (${plan.image.kernel}, ${plan.image.initramfs})`],
    [
      "rootfs",
      `${shellQuote(config.rootdir)} (${config.direct ? "direct: writes go to the rootfs" : "overlay: writes go to tmpdir/storage"})`,
    ],
    ["tmpdir", `${plan.tmpdir} (${plan.keep ? "kept" : "removed afterwards"})`],
    ["vm", `${config.cpus} cpu, ${config.memMiB} MiB`],
    ["stdio", plan.stdio === "tty" ? "terminal (serial console)" : "pipes (virtio-serial ports)"],
    ...(plan.cgroup === undefined ? [] : [["limits", describeLimits(config, plan.cgroup.version)] as [string, string]]),
    ...(config.timeoutSec === undefined
      ? []
      : [["timeout", `${config.timeoutSec} s, then exit 124`] as [string, string]]),
    ["command", config.command.length > 0 ? shellJoin(config.command) : "/bin/sh (the rootfs's shell)"],
    ...plan.binds.map((b, i): [string, string] => [
      "bind",
      `${shellQuote(b.source)} -> ${shellQuote(config.binds[i]?.target ?? "")}`,
    ]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    "tsminc: dry run, nothing was started",
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    "run.sh:",
    ...plan.files.runSh
      .trimEnd()
      .split("\n")
      .map((l) => `  ${l}`),
    "argv:",
    `  ${shellJoin([plan.file, ...plan.args])}`,
    "",
  ].join("\n");
}
