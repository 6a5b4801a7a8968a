// The qemu command line for booting an ermine image: the one place qemu flags are spelled. Pure.
import { ARCHES, type ArchName } from "./arch.js";
import { ipConfigWord, tapNetdev, type EngineNet } from "./network.js";
import { DISK_SERIALS } from "./root-disk-plan.js";

export interface BootSpec {
  readonly arch: ArchName;
  readonly accel: "kvm" | "tcg";
  readonly kernel: string;
  readonly initrd: string;
  readonly memMiB: number;
  readonly cpus: number;
  /** host folder shared with the guest as 9p mount_tag "minc" */
  readonly share?: string;
  /**
   * the container's root as disks (root-disk-plan.ts): the rootfs packed, read-only, and the writable
   * upper layer, which the guest finds by their serial numbers
   */
  /** the root's disks; `aio`: qemu's I/O engine for them (io_uring where the host allows it) */
  readonly rootDisk?: { readonly lower: string; readonly upper: string; readonly aio?: "io_uring" };
  /**
   * Where the serial console goes: "stdio" (qemu's stdin and stdout, e.g. a terminal; Ctrl-C is a
   * byte for the guest), "monitor" (the same with qemu's Ctrl-A monitor), or "null" (discarded).
   */
  readonly console: "stdio" | "monitor" | "null";
  /** virtio-serial ports: each a name in the guest and a unix socket qemu connects to */
  readonly ports?: readonly { readonly name: string; readonly socket: string }[];
  /** show kernel and init messages */
  readonly debug: boolean;
  /** the host's TSC in kHz: an x86 guest under TCG needs it or it may hang calibrating (see kernel-configs) */
  readonly tscKhz?: number;
  /** a NIC on the user-mode NAT: the tap nsrun bridged with slirp4netns's (--network user) */
  readonly nic?: boolean;
  /** with nic: the engine's address for the guest (--network engine), else the NAT's */
  readonly nicAddress?: EngineNet;
  /** qemu's QMP socket (a server): tsminc-runtime's exec plugs ports in through it */
  readonly qmp?: string;
  /** more kernel command-line words (--append), last so they win */
  readonly append?: readonly string[];
}

export interface QemuPlan {
  readonly file: string;
  readonly args: readonly string[];
}

/** qemu splits option values at commas; a literal comma is written twice. */
export function qemuOptValue(value: string): string {
  return value.replaceAll(",", ",,");
}

export function kernelCmdline(spec: BootSpec): string[] {
  const info = ARCHES[spec.arch];
  return [
    `console=${info.console}`,
    // A dying guest must end qemu (with -no-reboot) instead of hanging.
    "panic=-1",
    ...(spec.debug ? ["loglevel=7", "ermine.debug=1"] : ["quiet", "loglevel=0"]),
    ...(spec.arch === "x86_64" && spec.accel === "tcg" && spec.tscKhz !== undefined
      ? [`tsc_early_khz=${spec.tscKhz}`]
      : []),
    // Under TCG every vCPU reads one counter, qemu's, which never goes back; yet with 2 vCPUs the
    // kernel's TSC sync check fails on TCG's slowness, marks the TSC unstable and falls back to
    // jiffies: a 4 ms clock, and an idle guest that cannot stop its tick (NO_HZ_IDLE needs a real
    // clocksource), each vCPU woken 250 times a second.
    ...(spec.arch === "x86_64" && spec.accel === "tcg" ? ["tsc=reliable"] : []),
    ...(spec.nic === true ? [ipConfigWord(spec.nicAddress)] : []),
    ...(spec.append ?? []),
  ];
}

const CONSOLE: Readonly<Record<BootSpec["console"], readonly string[]>> = {
  // signal=off: Ctrl-C is a byte for the guest, not a signal to qemu.
  stdio: ["-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console"],
  monitor: ["-serial", "mon:stdio"],
  null: ["-chardev", "null,id=console", "-serial", "chardev:console"],
};

function portArgs(spec: BootSpec): string[] {
  const ports = spec.ports ?? [];
  if (ports.length === 0) return [];
  return [
    "-device",
    `virtio-serial-${ARCHES[spec.arch].virtioBus}`,
    ...ports.flatMap((p, i) => [
      "-chardev",
      `socket,id=port${i},path=${qemuOptValue(p.socket)}`,
      "-device",
      `virtserialport,chardev=port${i},name=${p.name}`,
    ]),
  ];
}

/** A root disk's drive option for its I/O engine (qemu's default, a thread pool, when there is none). */
const aio = (disk: { readonly aio?: "io_uring" }) => (disk.aio === undefined ? "" : `,aio=${disk.aio}`);

export function planQemu(spec: BootSpec): QemuPlan {
  const info = ARCHES[spec.arch];
  const share = spec.share;
  return {
    file: info.qemuBinary,
    args: [
      ...info.machine,
      "-accel",
      spec.accel,
      ...(spec.accel === "kvm" ? ["-cpu", "host"] : info.tcgCpu === undefined ? [] : ["-cpu", info.tcgCpu]),
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      ...CONSOLE[spec.console],
      "-no-reboot",
      "-m",
      String(spec.memMiB),
      "-smp",
      String(spec.cpus),
      "-kernel",
      spec.kernel,
      "-initrd",
      spec.initrd,
      "-append",
      kernelCmdline(spec).join(" "),
      ...(share === undefined
        ? []
        : [
            "-fsdev",
            // multidevs=remap: the share spans several filesystems (overlay, binds); keep inodes unique.
            `local,id=minc,path=${qemuOptValue(share)},security_model=none,multidevs=remap`,
            "-device",
            `virtio-9p-${info.virtioBus},fsdev=minc,mount_tag=minc`,
          ]),
      // The root's disks: the packed rootfs, read-only (the guest's page cache serves its metadata and
      // small files), and the writable layer, whose freed blocks go back to the host (discard). With
      // io_uring, a read the host's page cache holds completes without qemu's thread pool: reading
      // every file under the Debian root's /usr/share took 2.10 s instead of 2.51.
      ...(spec.rootDisk === undefined
        ? []
        : [
            "-drive",
            `file=${qemuOptValue(spec.rootDisk.lower)},if=none,id=lower,format=raw,readonly=on${aio(spec.rootDisk)}`,
            "-device",
            `virtio-blk-${info.virtioBus},drive=lower,serial=${DISK_SERIALS.lower}`,
            "-drive",
            `file=${qemuOptValue(spec.rootDisk.upper)},if=none,id=upper,format=raw,discard=unmap${aio(spec.rootDisk)}`,
            "-device",
            `virtio-blk-${info.virtioBus},drive=upper,serial=${DISK_SERIALS.upper}`,
          ]),
      // Free page reporting: what the guest frees goes back to the host during the run (base.config).
      "-device",
      `virtio-balloon-${info.virtioBus},free-page-reporting=on`,
      ...portArgs(spec),
      ...(spec.qmp === undefined ? [] : ["-qmp", `unix:${qemuOptValue(spec.qmp)},server=on,wait=off`]),
      ...(spec.nic === true
        ? [
            "-netdev",
            tapNetdev("net0"),
            "-device",
            `virtio-net-${info.virtioBus},netdev=net0${spec.nicAddress === undefined ? "" : `,mac=${spec.nicAddress.mac}`}`,
          ]
        : []),
    ],
  };
}
