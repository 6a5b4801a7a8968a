// Reads the facts of this host that a run depends on, once: TSC, KVM, images, qemu, the rootfs, the terminal.
import { spawnSync } from "node:child_process";
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { availableParallelism, hostname, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { isatty } from "node:tty";
import { ARCH_NAMES, ARCHES, archOfNode, type ArchName } from "../core/arch.js";
import { elfArch, type ElfArch } from "../core/elf.js";
import type { HostFacts, ImageFacts } from "../core/host-facts.js";
import { nameservers, type HostResolvers } from "../core/network.js";
import type { RunConfig } from "../core/run-config.js";
import { filtersDevices } from "../core/run-script.js";
import { probeBinfmt } from "./binfmt.js";
import { probeCgroups } from "./cgroup.js";
import { resolveInRoot } from "./root-path.js";
import { guestInitHash } from "./guest-init-hash.js";
import { probeEngineNet } from "./engine-net.js";
import { readManifest } from "./image-manifest.js";
import { cacheDir, guestInitDir, imageSearchDirs } from "./paths.js";
import { which } from "./which.js";
import { rootDisksDir } from "./root-disk.js";
import { UPPER_DISK } from "../core/root-disk-plan.js";

function cpuinfo(): string {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
}

/** The host TSC in kHz (x86 only): what an x86 TCG guest reads from rdtsc. */
export function hostTscKhz(info: string = cpuinfo()): number | undefined {
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1];
  return mhz === undefined ? undefined : Math.round(Number(mhz) * 1000);
}

/** Why KVM cannot run a guest of `arch` here, or undefined when it can. */
export function kvmUnusable(arch: ArchName, info: string = cpuinfo()): string | undefined {
  if (archOfNode(process.arch) !== arch) return `the guest arch ${arch} is not the host's`;
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/kvm is missing or not accessible";
  }
  if (arch === "x86_64" && !/^flags\s*:.*\b(vmx|svm)\b/m.test(info)) return "the CPU has no vmx/svm flag";
  return undefined;
}

function kindOf(path: string): "file" | "dir" | "missing" {
  try {
    return statSync(path).isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/** Image folders in search order: --ermine alone, else paths.ts's imageSearchDirs. */
export function imageDirs(ermine: string | undefined): string[] {
  return ermine !== undefined ? [ermine] : [...imageSearchDirs];
}

/** Whether a folder can be looked into: another user's home (a HOME left as /root) is skipped, not an error. */
function reachable(dir: string): boolean {
  try {
    statSync(dir);
    return true;
  } catch {
    return false;
  }
}

function findImage(dirs: readonly string[], arch: ArchName): ImageFacts | undefined {
  for (const dir of dirs) {
    if (!reachable(join(dir, arch))) continue;
    const manifest = readManifest(join(dir, arch));
    if (manifest !== undefined) return { dir: join(dir, arch), manifest };
  }
  return undefined;
}

/** The arch of the rootfs's shell (or busybox, or env), read from its ELF header. */
function rootfsArch(root: string): ElfArch | undefined {
  for (const candidate of ["/bin/sh", "/bin/busybox", "/usr/bin/env"]) {
    const path = resolveInRoot(root, candidate);
    if (path === undefined) continue;
    try {
      const fd = openSync(path, "r");
      const header = Buffer.alloc(20);
      readSync(fd, header, 0, 20, 0);
      closeSync(fd);
      const arch = elfArch(header);
      if (arch !== undefined) return arch;
    } catch {
      // unreadable: try the next one
    }
  }
  return undefined;
}

/** Where tmpdirs go. root: /run/tsminc; a user: $XDG_RUNTIME_DIR/tsminc, or a folder of their own under /tmp. */
export function runtimeDir(uid: number = process.getuid?.() ?? -1): string {
  if (uid === 0) return "/run/tsminc";
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, "tsminc") : join(tmpdir(), `tsminc-${uid}`);
}

/** The host's resolvers as slirp4netns's forwarder sees them (network.ts's HostResolvers). */
function probeResolvers(): HostResolvers {
  const read = (path: string) => {
    try {
      return nameservers(readFileSync(path, "utf8"));
    } catch {
      return [];
    }
  };
  return {
    first: read("/etc/resolv.conf").find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)),
    upstream: read("/run/systemd/resolve/resolv.conf"),
  };
}

/** Each qemu-system binary on PATH, by name: its path, size and mtime (a snapshot's key has them). */
function qemuIdentities(): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of ARCH_NAMES.map((a) => ARCHES[a].qemuBinary)) {
    const path = which(name);
    if (path === undefined) continue;
    const st = statSync(path);
    found[name] = `${path}:${st.size}:${st.mtimeMs}`;
  }
  return found;
}

/** Whether io_uring is allowed here (the kernel's switch, a container's seccomp filter): nsrun tries one. */
function ioUringAllowed(image: ImageFacts | undefined): boolean | undefined {
  if (image === undefined) return undefined;
  const tried = spawnSync(join(image.dir, "nsrun"), ["--probe-io-uring"], { stdio: "ignore" });
  return tried.status === 0;
}

export function probeHost(config: RunConfig): HostFacts {
  // ns mode needs none of the VM's facts (KVM, TSC, qemu, other arches' images): every probe
  // skipped is start-up time saved.
  const vm = config.qemu;
  const info = vm ? cpuinfo() : "";
  const dirs = imageDirs(config.ermine);
  const images: Partial<Record<ArchName, ImageFacts>> = {};
  const hostArch = archOfNode(process.arch);
  for (const arch of vm ? ARCH_NAMES : hostArch === undefined ? [] : [hostArch]) {
    const found = findImage(dirs, arch);
    if (found) images[arch] = found;
  }
  const rootKind = kindOf(config.rootdir);
  const uid = process.getuid?.() ?? -1;
  const foundArch = rootKind === "dir" ? rootfsArch(config.rootdir) : undefined;
  const qemus = vm ? qemuIdentities() : {};
  const wanted = config.arch ?? (foundArch !== undefined && "arch" in foundArch ? foundArch.arch : hostArch);
  return {
    uid,
    hostname: hostname(),
    hostArch,
    kvmProblem: Object.fromEntries(
      ARCH_NAMES.map((a) => [a, vm ? kvmUnusable(a, info) : "not probed in ns mode"]),
    ) as Record<ArchName, string | undefined>,
    tscKhz: vm && process.arch === "x64" ? hostTscKhz(info) : undefined,
    images,
    imageDirs: dirs,
    qemuBinaries: new Set(Object.keys(qemus)),
    qemuIds: qemus,
    rootDiskTools: vm
      ? { erofs: which("mkfs.erofs"), ext4: which("mkfs.ext4") }
      : { erofs: undefined, ext4: undefined },
    ioUring: vm && config.rootDisk && hostArch !== undefined ? ioUringAllowed(images[hostArch]) : undefined,
    rootDiskDir: rootDisksDir(cacheDir()),
    snapshotDir: join(cacheDir(), "snapshots"),
    hostSize: { cpus: availableParallelism(), memMiB: Math.floor(totalmem() / 2 ** 20) },
    rootfs: rootKind === "dir" ? "dir" : rootKind === "missing" ? "missing" : "not-dir",
    rootfsArch: foundArch,
    bindSources: Object.fromEntries(config.binds.map((b) => [b.source, kindOf(b.source)])),
    tempdir:
      config.tempdir === undefined
        ? undefined
        : existsSync(join(config.tempdir, "storage")) && existsSync(join(config.tempdir, "work"))
          ? existsSync(join(config.tempdir, UPPER_DISK))
            ? "kept-disk"
            : "kept"
          : "other",
    // isatty, not process.stdin.isTTY: making the stdin stream costs ns mode 1.3 ms, and it needs none.
    stdinTty: isatty(0),
    term: process.env.TERM,
    stdoutTty: isatty(1),
    ttySize: isatty(1) ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
    runtimeDir: runtimeDir(uid),
    enterScript: join(guestInitDir, "enter.sh"),
    guestInit: config.qemu ? guestInitHash(guestInitDir) : "",
    // Limits need the hierarchies; so does an ns-mode container's device filter (a cgroup v2 folder).
    cgroups:
      config.limits !== undefined || (!config.qemu && filtersDevices(config) && uid === 0) ? probeCgroups() : undefined,
    resolvers: config.network === "user" ? probeResolvers() : undefined,
    binfmt: !config.qemu && wanted !== hostArch ? probeBinfmt() : undefined,
    engineNet: vm && config.netns !== undefined ? probeEngineNet(config.netns) : undefined,
  };
}
