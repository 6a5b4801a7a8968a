// Per-architecture facts, one row per ermine arch, shared by the breeder and the launcher.

export type ArchName = "x86_64" | "arm64" | "arm";

export interface ArchInfo {
  readonly name: ArchName;
  /** kbuild's ARCH= */
  readonly kernelArch: string;
  /** make target that produces the boot image */
  readonly kernelTarget: string;
  /** where kbuild leaves that image, relative to the build dir */
  readonly kernelBuildPath: string;
  /** file name of the kernel in images/<arch>/ */
  readonly kernelImage: string;
  /** GNU triplet of Debian's toolchain for this arch (cross prefix is this plus "-") */
  readonly gnuTriplet: string;
  /** Debian package with that gcc, and the one with its static libc */
  readonly gccPackage: string;
  readonly libcPackage: string;
  /** Node's process.arch on a host of this arch (cross prefix is empty there) */
  readonly nodeArch: string;
  /** Debian's name for the arch (dpkg, debootstrap --arch) */
  readonly debianArch: string;
  /** the OCI image spec's platform.architecture and platform.variant (Go's GOARCH/GOARM names) */
  readonly ociArch: string;
  readonly ociVariant: string | undefined;
  /** what `uname -m` prints inside the guest */
  readonly unameMachine: string;
  /** qemu-system binary and the Debian package that ships it */
  readonly qemuBinary: string;
  readonly qemuPackage: string;
  /** -M arguments */
  readonly machine: readonly string[];
  /** the -cpu model under TCG (qemu's default when undefined); under KVM it is the host's */
  readonly tcgCpu: string | undefined;
  /** kernel console device for the serial port */
  readonly console: string;
  /** virtio transport: microvm and virt have virtio-mmio ("device"), pc needs PCI */
  readonly virtioBus: "device" | "pci";
  /** the most CPUs --cpus may give it: the kernel's CONFIG_NR_CPUS (kernel-configs/<arch>.config) */
  readonly maxCpus: number;
  /** the most memory --mem may give it, in MiB */
  readonly maxMemMiB: number;
  /** the name of the machine's main RAM block in qemu's migration stream (snapshots drop its zero pages) */
  readonly ramBlock: string;
  /** e_machine and ELF class of its executables (elf.h: EM_X86_64, EM_AARCH64, EM_ARM) */
  readonly elfMachine: number;
  readonly elfClass: 1 | 2;
  /** the name of Debian's qemu-user binfmt_misc handler (/usr/lib/binfmt.d/NAME.conf) */
  readonly binfmtName: string;
}

export const ARCHES: Readonly<Record<ArchName, ArchInfo>> = {
  x86_64: {
    name: "x86_64",
    kernelArch: "x86",
    kernelTarget: "bzImage",
    kernelBuildPath: "arch/x86/boot/bzImage",
    kernelImage: "bzImage",
    gnuTriplet: "x86_64-linux-gnu",
    gccPackage: "gcc-x86-64-linux-gnu",
    libcPackage: "libc6-dev-amd64-cross",
    nodeArch: "x64",
    debianArch: "amd64",
    ociArch: "amd64",
    ociVariant: undefined,
    unameMachine: "x86_64",
    qemuBinary: "qemu-system-x86_64",
    qemuPackage: "qemu-system-x86",
    // microvm: no firmware tables to walk, no PCI, qboot instead of SeaBIOS.
    machine: ["-M", "microvm"],
    // arat: the local APIC timer keeps running in idle states, so an idle guest may stop its tick
    // (NO_HZ_IDLE, which without arat needs a broadcast timer microvm lacks: idle vCPUs woke 250
    // times a second).
    tcgCpu: "qemu64,+arat",
    console: "ttyS0",
    virtioBus: "device",
    maxCpus: 64,
    maxMemMiB: 1024 * 1024,
    ramBlock: "microvm.ram",
    elfMachine: 62,
    elfClass: 2,
    binfmtName: "qemu-x86_64",
  },
  arm64: {
    name: "arm64",
    kernelArch: "arm64",
    kernelTarget: "Image",
    kernelBuildPath: "arch/arm64/boot/Image",
    kernelImage: "Image",
    gnuTriplet: "aarch64-linux-gnu",
    gccPackage: "gcc-aarch64-linux-gnu",
    libcPackage: "libc6-dev-arm64-cross",
    nodeArch: "arm64",
    debianArch: "arm64",
    ociArch: "arm64",
    ociVariant: "v8",
    unameMachine: "aarch64",
    qemuBinary: "qemu-system-aarch64",
    qemuPackage: "qemu-system-arm",
    machine: ["-M", "virt"],
    tcgCpu: "cortex-a57",
    console: "ttyAMA0",
    virtioBus: "device",
    // virt's default GICv2 takes 8 CPUs at most.
    maxCpus: 8,
    maxMemMiB: 1024 * 1024,
    ramBlock: "mach-virt.ram",
    elfMachine: 183,
    elfClass: 2,
    binfmtName: "qemu-aarch64",
  },
  arm: {
    name: "arm",
    kernelArch: "arm",
    kernelTarget: "zImage",
    kernelBuildPath: "arch/arm/boot/zImage",
    kernelImage: "zImage",
    gnuTriplet: "arm-linux-gnueabihf",
    gccPackage: "gcc-arm-linux-gnueabihf",
    libcPackage: "libc6-dev-armhf-cross",
    nodeArch: "arm",
    debianArch: "armhf",
    ociArch: "arm",
    ociVariant: "v7",
    unameMachine: "armv7l",
    qemuBinary: "qemu-system-arm",
    qemuPackage: "qemu-system-arm",
    machine: ["-M", "virt"],
    tcgCpu: undefined,
    console: "ttyAMA0",
    virtioBus: "device",
    maxCpus: 8,
    // A 32-bit CPU on virt: RAM starts at 1 GiB and must end below 4 GiB.
    maxMemMiB: 3072,
    ramBlock: "mach-virt.ram",
    elfMachine: 40,
    elfClass: 1,
    binfmtName: "qemu-arm",
  },
};

export const ARCH_NAMES = Object.keys(ARCHES) as readonly ArchName[];

const ALIASES: Readonly<Record<string, ArchName>> = {
  x86_64: "x86_64",
  amd64: "x86_64",
  x64: "x86_64",
  arm64: "arm64",
  aarch64: "arm64",
  arm: "arm",
  armhf: "arm",
  armv7l: "arm",
  armv7: "arm",
};

/** The arch a user typed (any common spelling), or undefined. */
export function lookupArch(text: string): ArchName | undefined {
  return ALIASES[text.toLowerCase()];
}

/** The ermine arch of a host whose Node reports `nodeArch` (process.arch). */
export function archOfNode(nodeArch: string): ArchName | undefined {
  return ARCH_NAMES.find((name) => ARCHES[name].nodeArch === nodeArch);
}

/** The CROSS_COMPILE prefix for building `arch` on a host of `hostNodeArch`. */
export function crossPrefix(arch: ArchName, hostNodeArch: string): string {
  return ARCHES[arch].nodeArch === hostNodeArch ? "" : `${ARCHES[arch].gnuTriplet}-`;
}
