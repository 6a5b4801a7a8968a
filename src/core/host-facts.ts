// What the planners know of this machine: probed once by host/probe.ts, then handed to the pure
// planners of both modes (vm-plan.ts, ns-plan.ts). Types only.
import type { ArchName } from "./arch.js";
import type { EngineNet } from "./network.js";
import type { BinfmtFacts } from "./binfmt.js";
import type { CgroupFacts } from "./cgroup-plan.js";
import type { ElfArch } from "./elf.js";
import type { ImageManifest } from "./image-manifest.js";
import type { HostResolvers } from "./network.js";
import type { HostSize } from "./vm-size.js";

/** An image folder found for one arch: where it is, and its manifest. */
export interface ImageFacts {
  readonly dir: string;
  readonly manifest: ImageManifest;
}

export interface HostFacts {
  readonly uid: number;
  /** the host's hostname: the container's unless --name says otherwise (as in MINCS) */
  readonly hostname: string;
  /** the ermine arch of this host, if it is one */
  readonly hostArch: ArchName | undefined;
  /** why KVM cannot run each arch here (undefined: it can); probed for vm-mode runs only */
  readonly kvmProblem: Readonly<Record<ArchName, string | undefined>>;
  readonly tscKhz: number | undefined;
  /** the image found per arch (in ns mode, the host arch's only), and the folders that were searched */
  readonly images: Readonly<Partial<Record<ArchName, ImageFacts>>>;
  readonly imageDirs: readonly string[];
  /** qemu-system binaries present on PATH (probed for vm-mode runs only) */
  readonly qemuBinaries: ReadonlySet<string>;
  /** mkfs.erofs and mkfs.ext4, which make vm mode's root disks (probed for vm-mode runs only) */
  readonly rootDiskTools: { readonly erofs: string | undefined; readonly ext4: string | undefined };
  /** whether qemu may read and write the root's disks through io_uring (probed for --root-disk runs only) */
  readonly ioUring: boolean | undefined;
  /** where root disks are kept: ~/.cache/tsminc/root-disks */
  readonly rootDiskDir: string;
  readonly rootfs: "dir" | "missing" | "not-dir";
  /** the CPU the rootfs's /bin/sh (or busybox) is built for; undefined when it has none */
  readonly rootfsArch: ElfArch | undefined;
  /** what each --bind source is */
  readonly bindSources: Readonly<Record<string, "file" | "dir" | "missing">>;
  /** for -t: whether the folder is a kept tsminc tmpdir, with its writes in storage/ or in upper.ext4 */
  readonly tempdir: "kept" | "kept-disk" | "other" | undefined;
  readonly stdinTty: boolean;
  /** the caller's TERM: the container's too when it runs on the caller's terminal */
  readonly term: string | undefined;
  readonly stdoutTty: boolean;
  readonly ttySize: { readonly rows: number; readonly cols: number } | undefined;
  /** where new tmpdirs go */
  readonly runtimeDir: string;
  /** guest-init/enter.sh of this package: ns mode runs it on the host */
  readonly enterScript: string;
  /** the fingerprint of this package's guest-init/ (vm mode) */
  readonly guestInit: string;
  /** the cgroup hierarchies, probed only when a limit is asked for */
  readonly cgroups: CgroupFacts | undefined;
  /** the host's resolvers, probed for --network user only (see network.ts's dnsSetup) */
  readonly resolvers: HostResolvers | undefined;
  /** binfmt_misc, probed only for an ns-mode run whose rootfs or --arch is not the host's arch */
  readonly binfmt: BinfmtFacts | undefined;
  /** warm start's folder (vm mode): ~/.cache/tsminc/snapshots */
  readonly snapshotDir: string;
  /** each qemu-system binary found: its path, size and mtime (part of a snapshot's key) */
  readonly qemuIds: Readonly<Record<string, string>>;
  /** the host's CPUs and RAM: the VM's default size comes from them (vm-size.ts) */
  readonly hostSize: HostSize;
  /** --network engine in vm mode: the engine's interface and address in its namespace */
  readonly engineNet?: EngineNet | undefined;
}
