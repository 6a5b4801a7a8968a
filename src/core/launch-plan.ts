// Turns a RunConfig and the probed HostFacts into the full plan of a --qemu run: tmpdir files,
// mounts, qemu argv. Pure: every fact about the host arrives in HostFacts; nothing is touched.
import type { RunConfig } from "../config/run-config.js";
import { ARCHES, type ArchName } from "./arch.js";
import type { BinfmtFacts } from "./binfmt.js";
import { planRunCgroups, type CgroupFacts, type CgroupPlan } from "./cgroup-plan.js";
import type { ElfArch } from "./elf.js";
import { MincError } from "./errors.js";
import { CHAIN_FILE, prepareChain } from "./prepare-chain.js";
import { planQemu, type BootSpec } from "./qemu-argv.js";
import { argsFile, bindsFile, runScript, termOption, type StdioMode } from "./run-script.js";

export interface ImageFacts {
  readonly dir: string;
  readonly kernel: string;
  readonly initramfs: string;
  /** the fingerprint of the guest-init/ it was packed with */
  readonly guestInit: string;
  /** it has nsrun, which host mode starts with (images bred before it do not) */
  readonly nsrun: boolean;
}

export interface HostFacts {
  readonly uid: number;
  /** the host's hostname: the container's unless --name says otherwise (as in MINCS) */
  readonly hostname: string;
  /** the ermine arch of this host, if it is one */
  readonly hostArch: ArchName | undefined;
  /** why KVM cannot run each arch here (undefined: it can); probed for --qemu runs only */
  readonly kvmProblem: Readonly<Record<ArchName, string | undefined>>;
  readonly tscKhz: number | undefined;
  /** the image found per arch (in host mode, the host arch's only), and the folders that were searched */
  readonly images: Readonly<Partial<Record<ArchName, ImageFacts>>>;
  readonly imageDirs: readonly string[];
  /** qemu-system binaries present on PATH (probed for --qemu runs only) */
  readonly qemuBinaries: ReadonlySet<string>;
  readonly rootfs: "dir" | "missing" | "not-dir";
  /** the CPU the rootfs's /bin/sh (or busybox) is built for; undefined when it has none */
  readonly rootfsArch: ElfArch | undefined;
  /** what each --bind source is */
  readonly bindSources: Readonly<Record<string, "file" | "dir" | "missing">>;
  /** for -t: whether the folder is a kept tsminc tmpdir */
  readonly tempdir: "kept" | "other" | undefined;
  readonly stdinTty: boolean;
  /** the caller's TERM: the container's too when it runs on the caller's terminal */
  readonly term: string | undefined;
  readonly stdoutTty: boolean;
  readonly ttySize: { readonly rows: number; readonly cols: number } | undefined;
  /** where new tmpdirs go */
  readonly runtimeDir: string;
  /** libexec/prepare-root.sh and guest-init/enter.sh of this package */
  readonly prepareScript: string;
  readonly enterScript: string;
  /** the fingerprint of this package's guest-init/ (qemu mode) */
  readonly guestInit: string;
  /** the cgroup hierarchies, probed only when a limit is asked for */
  readonly cgroups: CgroupFacts | undefined;
  /** binfmt_misc, probed only for a host-mode run whose rootfs or --arch is not the host's arch */
  readonly binfmt: BinfmtFacts | undefined;
}

export interface SocketPlan {
  readonly name: string;
  readonly path: string;
}

export interface LaunchPlan {
  readonly arch: ArchName;
  readonly accel: "kvm" | "tcg";
  /** why this accelerator */
  readonly accelReason: string;
  /** one-line notices for the user (e.g. the arch was taken from the rootfs) */
  readonly notices: readonly string[];
  readonly image: ImageFacts;
  readonly stdio: StdioMode;
  /** pipe mode with --debug: qemu's stdout (the console) goes to tsminc's stderr */
  readonly consoleToStderr: boolean;
  readonly tmpdir: string;
  /** true when -t reuses a kept tmpdir */
  readonly reuse: boolean;
  readonly keep: boolean;
  readonly files: { readonly runSh: string; readonly args: Buffer; readonly binds: Buffer };
  readonly binds: readonly { readonly source: string; readonly kind: "file" | "dir" }[];
  /** unix sockets qemu connects to, by port name */
  readonly sockets: readonly SocketPlan[];
  /** what to spawn: setpriv (qemu dies with tsminc) → unshare (private mounts) → prepare-root.sh → qemu */
  readonly file: string;
  readonly args: readonly string[];
  /** cgroups for --mem-limit, --cpu-limit, --pid-max: qemu runs in them */
  readonly cgroup: CgroupPlan | undefined;
  readonly timeoutSec: number | undefined;
  /** the qemu part alone */
  readonly qemu: { readonly file: string; readonly args: readonly string[] };
}

const fail = (message: string, hint: string) => new MincError("usage", message, { hint });

/** The VM's arch: --arch, else the rootfs's, else the host's; with a notice when the rootfs chose it. */
export function chooseArch(config: RunConfig, facts: HostFacts): { arch: ArchName; notices: string[] } {
  const found = facts.rootfsArch;
  if (found !== undefined && "other" in found) {
    throw fail(
      `rootfs ${config.rootdir} is built for ${found.other}; ermine runs x86_64, arm64 and arm`,
      "use a rootfs for one of those",
    );
  }
  if (config.arch !== undefined) {
    if (found !== undefined && found.arch !== config.arch) {
      throw fail(
        `rootfs ${config.rootdir} is built for ${found.arch}, not --arch ${config.arch}`,
        `drop --arch, or use --arch ${found.arch}`,
      );
    }
    return { arch: config.arch, notices: [] };
  }
  if (found !== undefined) {
    const notices =
      found.arch === facts.hostArch
        ? []
        : [`rootfs ${config.rootdir} is built for ${found.arch}: running it with --arch ${found.arch}`];
    return { arch: found.arch, notices };
  }
  if (facts.hostArch === undefined)
    throw fail("this host's arch has no ermine image", "pick one with --arch x86_64|arm64|arm");
  return { arch: facts.hostArch, notices: [] };
}

function chooseAccel(config: RunConfig, arch: ArchName, facts: HostFacts): { accel: "kvm" | "tcg"; reason: string } {
  const problem = facts.kvmProblem[arch];
  if (config.accel === "tcg") return { accel: "tcg", reason: "--accel tcg" };
  if (config.accel === "kvm") {
    if (problem !== undefined)
      throw new MincError("usage", `--accel kvm: KVM is not usable: ${problem}`, { hint: "use --accel tcg (or auto)" });
    return { accel: "kvm", reason: "--accel kvm" };
  }
  return problem === undefined ? { accel: "kvm", reason: "KVM is usable" } : { accel: "tcg", reason: problem };
}

/** Refuses what no plan can run: not root, a bad rootfs, missing bind sources, a foreign -t folder. */
export function checkInputs(config: RunConfig, facts: HostFacts): void {
  if (facts.uid !== 0 && !config.nopriv) {
    throw fail(
      "tsminc needs root to mount the container's overlay",
      "run it as root (e.g. with sudo), or use --nopriv DIR",
    );
  }
  if (facts.rootfs === "missing")
    throw fail(`rootfs ${config.rootdir} does not exist`, "point -r at a root filesystem folder");
  if (facts.rootfs === "not-dir")
    throw fail(`rootfs ${config.rootdir} is not a folder`, "point -r at a root filesystem folder");
  for (const bind of config.binds) {
    if (facts.bindSources[bind.source] === "missing")
      throw fail(`--bind source ${bind.source} does not exist`, "bind an existing file or folder");
  }
  if (config.tempdir !== undefined && facts.tempdir !== "kept") {
    throw fail(`-t ${config.tempdir} is not a tmpdir kept by tsminc -k`, "give the folder that tsminc -k printed");
  }
}

export function planLaunch(config: RunConfig, facts: HostFacts, tmpdir: string): LaunchPlan {
  checkInputs(config, facts);
  const { arch, notices } = chooseArch(config, facts);
  const found = facts.images[arch];
  if (found === undefined) {
    throw new MincError("image", `no ${arch} ermine image in ${facts.imageDirs.join(" or ")}`, {
      hint: `run: tsermine breed --arch ${arch}`,
    });
  }
  if (found.guestInit !== facts.guestInit) {
    throw new MincError(
      "image",
      `the ${arch} ermine image in ${found.dir} was packed with other guest code than this tsminc's`,
      {
        hint: `run: tsermine breed --arch ${arch} (only the initramfs is repacked)`,
      },
    );
  }
  const qemuBinary = ARCHES[arch].qemuBinary;
  if (!facts.qemuBinaries.has(qemuBinary)) {
    throw new MincError("missing-tool", `${qemuBinary} is not installed`, {
      hint: `apt-get install ${ARCHES[arch].qemuPackage}`,
    });
  }
  const { accel, reason } = chooseAccel(config, arch, facts);
  const stdio: StdioMode = facts.stdinTty && facts.stdoutTty ? "tty" : "ports";
  const sockets: SocketPlan[] =
    stdio === "tty"
      ? [{ name: "tsminc.ctl", path: `${tmpdir}/ctl.sock` }]
      : ["stdin", "stdout", "stderr"].map((s) => ({ name: `tsminc.${s}`, path: `${tmpdir}/${s}.sock` }));
  const spec: BootSpec = {
    arch,
    accel,
    kernel: `${found.dir}/${found.kernel}`,
    initrd: `${found.dir}/${found.initramfs}`,
    memMiB: config.memMiB,
    cpus: config.cpus,
    share: tmpdir,
    // With --debug in pipe mode the console is qemu's stdout, which the launcher sends to stderr.
    console: stdio === "tty" || config.debug ? "stdio" : "null",
    debug: config.debug,
    ports: sockets.map((s) => ({ name: s.name, socket: s.path })),
    ...(facts.tscKhz === undefined ? {} : { tscKhz: facts.tscKhz }),
    append: config.append,
  };
  const qemu = planQemu(spec);
  const binds = config.binds.map((b) => ({
    source: b.source,
    kind: facts.bindSources[b.source] === "file" ? ("file" as const) : ("dir" as const),
  }));
  const cgroup = planRunCgroups(config, facts.cgroups, tmpdir);
  const prepare = prepareChain(
    config,
    facts.prepareScript,
    tmpdir,
    binds.map((b) => b.source),
    cgroup?.join ?? [],
  );
  return {
    arch,
    accel,
    accelReason: reason,
    notices,
    image: found,
    stdio,
    consoleToStderr: stdio === "ports" && config.debug,
    tmpdir,
    reuse: config.tempdir !== undefined,
    keep: config.keep,
    files: {
      runSh: runScript(
        { ...config, name: config.name ?? facts.hostname },
        stdio,
        stdio === "tty" ? facts.ttySize : undefined,
        termOption(stdio === "tty", facts.term),
      ),
      args: argsFile(config.commandBytes),
      binds: bindsFile(config),
    },
    binds,
    sockets,
    file: CHAIN_FILE,
    args: [...prepare, qemu.file, ...qemu.args],
    cgroup,
    timeoutSec: config.timeoutSec,
    qemu,
  };
}
