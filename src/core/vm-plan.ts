// The plan of a vm-mode run (--qemu): tmpdir files, the host-side nsrun, the qemu argv. Pure: every
// fact about the host arrives in HostFacts; nothing is touched.
import { ARCHES, type ArchName } from "./arch.js";
import { planRunCgroups, type CgroupPlan } from "./cgroup-plan.js";
import { MincError } from "./errors.js";
import type { HostFacts, ImageFacts } from "./host-facts.js";
import { nsrunArgs, slirpSpec, vmBridge } from "./nsrun-argv.js";
import { planQemu, type BootSpec } from "./qemu-argv.js";
import { containerEnv, envFile } from "./container-process.js";
import { checkInputs, chooseArch, hostImage } from "./run-checks.js";
import { snapshotKey, snapshotPaths, snapshotRefusal, type SnapshotPlan } from "./snapshot-plan.js";
import type { RunConfig } from "./run-config.js";
import { vmSize } from "./vm-size.js";
import { planRootDisk, rootDiskLine, type RootDiskPlan } from "./root-disk-plan.js";
import { formatImageRef } from "./image-ref.js";
import { NAT, type EngineNet, type Publish } from "./network.js";
import {
  argsFile,
  mountsFile,
  networkFiles,
  networkNotices,
  runScript,
  containerTerm,
  type StdioMode,
} from "./run-script.js";

export interface SocketPlan {
  readonly name: string;
  readonly path: string;
}

/** qemu's QMP socket in the tmpdir of a run an engine started (see RunConfig.engine). */
export const QMP_SOCKET = "qmp.sock";

/** The port that carries resizes (a terminal) and forwarded signals into the guest (enter.sh). */
export const CONTROL_PORT = "tsminc.ctl";

export interface VmPlan {
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
  /** signals to the launcher go to the container's command over tsminc.ctl (see RunConfig) */
  readonly engine: boolean;
  readonly tmpdir: string;
  /** true when -t reuses a kept tmpdir */
  readonly reuse: boolean;
  readonly keep: boolean;
  /** with -k: the command that runs again on the kept tmpdir (tsminc prints it, "..." for the command) */
  readonly rerun: readonly string[];
  readonly files: {
    readonly runSh: string;
    readonly args: Buffer;
    /** the container's whole environment (confine --env-fd) */
    readonly env: Buffer;
    readonly mounts: Buffer;
    readonly network: { readonly hosts: string; readonly resolv: string } | undefined;
  };
  /** published ports, for the check that they are free before qemu starts */
  readonly publish: readonly Publish[];
  readonly binds: readonly { readonly source: string; readonly kind: "file" | "dir" }[];
  /** unix sockets qemu connects to, by port name */
  readonly sockets: readonly SocketPlan[];
  /**
   * what to spawn: the host image's nsrun (dies with tsminc, mounts the root and the binds in a
   * private mount namespace, joins the cgroups, cleans up after a killed tsminc), which becomes qemu
   */
  readonly file: string;
  readonly args: readonly string[];
  /** the VM's size */
  readonly cpus: number;
  readonly memMiB: number;
  /** cgroups for --mem-limit, --cpu-limit, --pid-max: qemu runs in them */
  readonly cgroup: CgroupPlan | undefined;
  readonly timeoutSec: number | undefined;
  /** the qemu part alone (a cold boot's; a restore adds -incoming, see snapshot-plan.ts) */
  readonly qemu: { readonly file: string; readonly args: readonly string[] };
  /** qemu's QMP socket, when it has one: a first run saves the snapshot through it, an engine's exec plugs ports in */
  readonly qmp: string | undefined;
  /** warm start: the snapshot this run resumes or saves; undefined with the reason in snapshotOff */
  readonly snapshot: SnapshotPlan | undefined;
  readonly snapshotOff: string | undefined;
  /** the container's root from a disk packed from the rootfs; undefined (over 9p) with the reason in rootDiskOff */
  readonly rootDisk: RootDiskPlan | undefined;
  readonly rootDiskOff: string | undefined;
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

/** --network engine: the engine's interface, which the probe found in its namespace. */
function engineNet(facts: HostFacts): EngineNet {
  if (facts.engineNet === undefined)
    throw new MincError("system", "the engine's network namespace has no IPv4 interface to give the VM", {
      hint: "run the engine with a network that gives the container an IPv4 address, or --network none",
    });
  return facts.engineNet;
}

export function planVm(config: RunConfig, facts: HostFacts, tmpdir: string): VmPlan {
  checkInputs(config, facts);
  const { arch, notices } = chooseArch(config, facts);
  const found = facts.images[arch];
  if (found === undefined) {
    throw new MincError("image", `no ${arch} ermine image in ${facts.imageDirs.join(" or ")}`, {
      hint: `run: tsermine breed --arch ${arch}`,
    });
  }
  if (found.manifest.guestInit !== facts.guestInit) {
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
  const tools = hostImage(facts, "vm mode mounts the container's root on the host with nsrun");
  const { accel, reason } = chooseAccel(config, arch, facts);
  const { cpus, memMiB } = vmSize(arch, config, facts.hostSize);
  const stdio: StdioMode = facts.stdinTty && facts.stdoutTty ? "tty" : "ports";
  // Every VM has the control port: its init waits there to be released (warm start).
  const sockets: SocketPlan[] = [
    { name: CONTROL_PORT, path: `${tmpdir}/ctl.sock` },
    ...(stdio === "tty"
      ? []
      : ["stdin", "stdout", "stderr"].map((s) => ({ name: `tsminc.${s}`, path: `${tmpdir}/${s}.sock` }))),
  ];
  const { rootDisk, rootDiskOff } = planRootDisk(config, facts, tmpdir);
  const spec: BootSpec = {
    arch,
    accel,
    kernel: `${found.dir}/${found.manifest.kernelImage}`,
    initrd: `${found.dir}/${found.manifest.initramfs}`,
    memMiB,
    cpus,
    share: tmpdir,
    ...(rootDisk === undefined
      ? {}
      : {
          rootDisk: {
            lower: rootDisk.lower,
            upper: rootDisk.upper,
            ...(facts.ioUring === true ? { aio: "io_uring" as const } : {}),
          },
        }),
    // With --debug in pipe mode the console is qemu's stdout, which the launcher sends to stderr.
    console: stdio === "tty" || config.debug ? "stdio" : "null",
    debug: config.debug,
    ports: sockets.map((s) => ({ name: s.name, socket: s.path })),
    ...(facts.tscKhz === undefined ? {} : { tscKhz: facts.tscKhz }),
    ...(config.network === "user" ? { nic: true } : {}),
    ...(config.network === "engine" ? { nic: true, nicAddress: engineNet(facts) } : {}),
    append: config.append,
  };
  const snapshotOff = snapshotRefusal({
    ...config,
    nicAddress: config.network === "engine",
    keptUpper: rootDisk !== undefined && facts.tempdir === "kept-disk",
  });
  const qmp = snapshotOff === undefined || config.engine ? `${tmpdir}/${QMP_SOCKET}` : undefined;
  const qemu = planQemu(qmp === undefined ? spec : { ...spec, qmp });
  const snapshot =
    snapshotOff === undefined
      ? snapshotPaths(
          facts.snapshotDir,
          snapshotKey(qemu.args, tmpdir, {
            qemu: facts.qemuIds[qemuBinary] ?? qemuBinary,
            image: [found.manifest.kernelImage, found.manifest.initramfs].map(
              (f) => found.manifest.outputs[f]?.sha256 ?? f,
            ),
            guestInit: facts.guestInit,
          }),
        )
      : undefined;
  const binds = config.binds.map((b) => ({
    source: b.source,
    kind: facts.bindSources[b.source] === "file" ? ("file" as const) : ("dir" as const),
  }));
  // The container's device filter is the guest's business: the host's cgroups are for limits on qemu.
  const cgroup = planRunCgroups(config.limits, facts.cgroups, tmpdir);
  const nsrun = nsrunArgs(
    config,
    {
      exec: true,
      hostname: undefined,
      bindSources: binds.map((b) => b.source),
      cgroups: cgroup?.join ?? [],
      slirp: slirpSpec(config, facts, tmpdir),
      bridge: vmBridge(config),
      ...(config.network === "engine" ? { uplink: engineNet(facts).iface } : {}),
      guestRoot: rootDisk !== undefined,
    },
    tmpdir,
  );
  return {
    arch,
    accel,
    accelReason: reason,
    notices: [...notices, ...networkNotices(config, facts)],
    image: found,
    stdio,
    consoleToStderr: stdio === "ports" && config.debug,
    engine: config.engine,
    tmpdir,
    reuse: config.tempdir !== undefined,
    keep: config.keep,
    rerun: rerunCommand(config, tmpdir, rootDisk !== undefined),
    files: {
      runSh: runScript(
        { ...config, name: config.name ?? facts.hostname },
        stdio,
        stdio === "tty" ? facts.ttySize : undefined,
        rootDisk === undefined ? undefined : rootDiskLine(config),
      ),
      args: argsFile(config.commandBytes),
      env: envFile(containerEnv(config, containerTerm(stdio === "tty", facts.term))),
      mounts: mountsFile(config),
      network: networkFiles(config, facts, NAT.vm),
    },
    publish: config.publish,
    binds,
    sockets,
    file: `${tools.dir}/nsrun`,
    args: [...nsrun, qemu.file, ...qemu.args],
    cpus,
    memMiB,
    cgroup,
    timeoutSec: config.timeoutSec,
    qemu,
    qmp,
    snapshot,
    snapshotOff,
    rootDisk,
    rootDiskOff,
  };
}

/**
 * The command that runs again on a kept tmpdir: the same root as it was named (the image, or the
 * folder, under --nopriv too), the arch if one was asked for, and the disks a folder's writes are in.
 */
function rerunCommand(config: RunConfig, tmpdir: string, disk: boolean): string[] {
  const image = config.image === undefined ? undefined : formatImageRef(config.image);
  const root = config.nopriv
    ? ["--nopriv", image ?? config.rootdir]
    : image === undefined
      ? ["-r", config.rootdir]
      : ["-i", image];
  return [
    "tsminc",
    "--qemu",
    ...(config.arch === undefined ? [] : ["--arch", config.arch]),
    ...root,
    ...(disk && image === undefined ? ["--root-disk"] : []),
    "-t",
    tmpdir,
  ];
}
