// The human-readable plan that --dry-run prints, for either mode, the argv shell-quoted. Pure.
import { ARCHES } from "./arch.js";
import { formatImageRef } from "./image-ref.js";
import { NAT } from "./network.js";
import type { NsPlan } from "./ns-plan.js";
import type { RunConfig } from "./run-config.js";
import { UPPER_DISK } from "./root-disk-plan.js";
import { filtersDevices } from "./run-script.js";
import { shellJoin, shellQuote } from "./shell-quote.js";
import { restoreArgs } from "./snapshot-plan.js";
import type { VmPlan } from "./vm-plan.js";

type Row = readonly [string, string];

function describeLimits(config: RunConfig, version: 1 | 2, on: string): string {
  const l = config.limits;
  const parts = [
    ...(l?.memBytes === undefined ? [] : [`memory ${l.memBytes / 2 ** 20} MiB`]),
    ...(l?.cpus === undefined ? [] : [`${l.cpus} cpu`]),
    ...(l?.pids === undefined ? [] : [`${l.pids} processes`]),
  ];
  return `${parts.join(", ")} for ${on} (cgroup v${version})`;
}

/** What confines the container (see confine.c), in a line. */
function describeSecurity(config: RunConfig): string {
  const s = config.security;
  if (s.privileged) return "none (--privileged)";
  return [
    `capabilities ${s.caps.join(",") || "none"}`,
    `seccomp ${s.seccomp ? "on" : "off"}`,
    `devices ${filtersDevices(config) ? "filtered" : "open"}`,
    "/proc and /sys masked",
    ...(s.noNewPrivs ? ["no_new_privs"] : []),
    ...(s.readOnly ? ["root read-only"] : []),
  ].join("; ");
}

/** The container's network, in a line. */
function describeNetwork(config: RunConfig): string {
  if (config.network === "none") return "none (its own loopback only)";
  if (config.network === "host") return "the host's";
  const ports = config.publish.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`);
  const host = config.addHosts.find((h) => h.address === "host-gateway");
  return [
    `user (slirp4netns's NAT ${NAT.cidr}${config.qemu ? ", the VM's NIC bridged to it" : ""})`,
    ...(ports.length > 0 ? [`ports ${ports.join(" ")}`] : []),
    host === undefined ? "the host's loopback refused" : `the host's loopback reachable as ${host.name}`,
  ].join("; ");
}

/** The rows both modes share: the root, the tmpdir, network, confinement, limits, timeout, command, binds. */
function commonRows(config: RunConfig, plan: VmPlan | NsPlan, limitsOn: string): Row[] {
  return [
    ["network", describeNetwork(config)],
    ["confinement", describeSecurity(config)],
    [
      "rootfs",
      `${shellQuote(config.rootdir)} (${
        config.direct
          ? "direct: writes go to the rootfs"
          : "rootDisk" in plan && plan.rootDisk !== undefined
            ? `packed: writes go to tmpdir/${UPPER_DISK}`
            : "overlay: writes go to tmpdir/storage"
      })`,
    ],
    ["tmpdir", `${plan.tmpdir} (${plan.keep ? "kept" : "removed afterwards"})`],
    ...(plan.cgroup === undefined || config.limits === undefined
      ? []
      : [["limits", describeLimits(config, plan.cgroup.version, limitsOn)] as Row]),
    ...(config.timeoutSec === undefined ? [] : [["timeout", `${config.timeoutSec} s, then exit 124`] as Row]),
    ...(config.image === undefined ? [] : [["from image", formatImageRef(config.image)] as Row]),
    ["command", config.command.length > 0 ? shellJoin(config.command) : "/bin/sh (the rootfs's shell)"],
    ["environment", shellJoin(plan.files.env.toString().split("\0").slice(0, -1))],
    ["workdir", shellQuote(config.workdir ?? "/")],
    ...config.binds.map((b): Row => ["bind", `${shellQuote(b.source)} -> ${shellQuote(b.target)}`]),
  ];
}

function render(rows: readonly Row[], tail: readonly string[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    "tsminc: dry run, nothing was started",
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    ...tail,
    "",
  ].join("\n");
}

/** Whether the run would resume its snapshot (the host looked in the store), in a line. */
function describeWarm(plan: VmPlan, saved: boolean): string {
  if (plan.snapshot === undefined) return `boot (no snapshot: ${plan.snapshotOff ?? "off"})`;
  return saved
    ? `resume ${plan.snapshot.state} (warm start)`
    : `boot, then save ${plan.snapshot.state} for the next runs (no snapshot yet)`;
}

/** `saved`: a sound snapshot for this plan is in the store; its argv then resumes it. */
export function describeVmPlan(config: RunConfig, plan: VmPlan, saved = false): string {
  const args = saved && plan.snapshot !== undefined ? restoreArgs(plan.args, plan.snapshot.state) : plan.args;
  const rows: Row[] = [
    ["mode", "vm (an ermine micro-VM)"],
    ["arch", `${plan.arch} (${ARCHES[plan.arch].qemuBinary}, ${plan.accel}: ${plan.accelReason})`],
    ["image", `${plan.image.dir} (${plan.image.manifest.kernelImage}, ${plan.image.manifest.initramfs})`],
    ["vm", `${plan.cpus} cpu, ${plan.memMiB} MiB`],
    ["start", describeWarm(plan, saved)],
    [
      "root",
      plan.rootDisk === undefined
        ? `over 9p (${plan.rootDiskOff ?? "no root disk"})`
        : `a disk packed from ${plan.rootDisk.rootfs} (EROFS, kept in ${plan.rootDisk.dir}); writes in ${plan.rootDisk.upper}`,
    ],
    ["stdio", plan.stdio === "tty" ? "terminal (serial console)" : "pipes (virtio-serial ports)"],
    ...commonRows(config, plan, "qemu"),
  ];
  const runSh = plan.files.runSh
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`);
  return render(rows, ["run.sh:", ...runSh, "argv:", `  ${shellJoin([plan.file, ...args])}`]);
}

export function describeNsPlan(config: RunConfig, plan: NsPlan): string {
  const rows: Row[] = [
    ["mode", "ns (namespaces on the host, no VM)"],
    ["stdio", plan.terminal ? "this terminal" : "this process's own"],
    ...commonRows(config, plan, "the container"),
  ];
  return render(rows, ["argv:", `  ${shellJoin([plan.file, ...plan.args])}`]);
}
