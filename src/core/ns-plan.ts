// The plan of an ns-mode run (no --qemu: namespaces on the host): the same container entry as in
// the guest (enter.sh), run with the host image's static busybox and confine, in the namespaces its
// nsrun makes. Pure.
import type { ArchName } from "./arch.js";
import { BINFMT_DIR, binfmtFor } from "./binfmt.js";
import { planRunCgroups, type CgroupPlan } from "./cgroup-plan.js";
import { MincError } from "./errors.js";
import type { HostFacts } from "./host-facts.js";
import { nsrunArgs, slirpSpec } from "./nsrun-argv.js";
import { containerEnv, envFile } from "./container-process.js";
import { checkInputs, chooseArch, hostImage } from "./run-checks.js";
import type { RunConfig } from "./run-config.js";
import { NAT, type Publish } from "./network.js";
import {
  argsFile,
  mountsList,
  CONTAINER_PATH,
  entryOptions,
  filtersDevices,
  hasMounts,
  networkFiles,
  networkNotices,
  containerTerm,
} from "./run-script.js";

export interface NsPlan {
  readonly tmpdir: string;
  readonly reuse: boolean;
  readonly keep: boolean;
  readonly notices: readonly string[];
  readonly files: {
    readonly args: Buffer;
    /** the container's whole environment (confine --env-fd) */
    readonly env: Buffer;
    readonly mounts: Buffer;
    readonly network: { readonly hosts: string; readonly resolv: string } | undefined;
  };
  /** --network user: the host ports to check before anything starts (nsrun gives slirp4netns the rest) */
  readonly publish: readonly Publish[];
  /**
   * what to spawn: the image's nsrun (dies with tsminc; makes the namespaces and the root; waits),
   * whose child, in a new pid namespace, is the container's init: enter.sh --inside
   */
  readonly file: string;
  readonly args: readonly string[];
  /** the chain's whole environment: nothing of the caller's reaches the container */
  readonly env: Readonly<Record<string, string>>;
  /** cgroups for --mem-limit, --cpu-limit, --pid-max: the whole container runs in them */
  readonly cgroup: CgroupPlan | undefined;
  readonly timeoutSec: number | undefined;
  /** stdin is a terminal: its Ctrl-C reaches the container directly, so tsminc leaves SIGINT to it */
  readonly terminal: boolean;
  /** a signal to the launcher goes to the container's command (see RunConfig), whose init is `init` */
  readonly engine: boolean;
  readonly init: boolean;
}

/** The container's mounts (see mountsList), with host paths as the binds' sources. */
function nsMountsFile(config: RunConfig, tmpdir: string): Buffer {
  return mountsList(config, tmpdir, (i) => config.binds[i]?.source ?? "");
}

/**
 * How the host runs programs of a foreign `arch`: through the binfmt_misc handler for its ELF
 * executables (qemu-user). Returns the interpreter to make visible inside the root, or undefined when
 * the handler has the F flag (the kernel opened it at registration, so no path lookup happens).
 */
function foreignInterpreter(arch: ArchName, facts: HostFacts): string | undefined {
  const binfmt = facts.binfmt;
  const orVm = "or add --qemu to run it in a VM";
  const needs = `running an ${arch} rootfs on this ${facts.hostArch ?? "unknown"} host without a VM needs qemu-user through binfmt_misc`;
  if (binfmt === undefined || !binfmt.mounted) {
    throw new MincError("missing-tool", `${needs}, and binfmt_misc is not mounted`, {
      hint: `mount -t binfmt_misc binfmt_misc ${BINFMT_DIR}, ${orVm}`,
    });
  }
  if (!binfmt.enabled) {
    throw new MincError("missing-tool", `${needs}, and binfmt_misc is disabled`, {
      hint: `echo 1 > ${BINFMT_DIR}/status, ${orVm}`,
    });
  }
  const entry = binfmtFor(arch, binfmt.entries);
  if (entry === undefined) {
    throw new MincError("missing-tool", `${needs}, and no binfmt_misc handler runs ${arch} programs`, {
      hint: `apt-get install qemu-user-static binfmt-support, ${orVm}`,
    });
  }
  if (entry.flags.includes("F")) return undefined;
  if (binfmt.interpreterExists[entry.interpreter] !== true) {
    throw new MincError(
      "missing-tool",
      `the binfmt_misc handler ${entry.name} for ${arch} names ${entry.interpreter}, which does not exist`,
      { hint: `install it, or remove the handler: echo -1 > ${BINFMT_DIR}/${entry.name}` },
    );
  }
  return entry.interpreter;
}

export function planNs(config: RunConfig, facts: HostFacts, tmpdir: string): NsPlan {
  checkInputs(config, facts);
  const { arch, notices } = chooseArch(config, facts);
  const interpreter = arch === facts.hostArch ? undefined : foreignInterpreter(arch, facts);
  // The entry runs on the host, with the host's own ermine busybox, whatever the rootfs's arch.
  const image = hostImage(facts, "ns mode runs the container's entry with the static busybox and nsrun");
  const cgroup = planRunCgroups(config.limits, facts.cgroups, tmpdir, filtersDevices(config));
  // One static process makes the namespaces and the root and waits for the container's init, the
  // same enter.sh that runs in the guest: each exec costs about a millisecond here. The hostname is
  // set there too, by sethostname(2): a user namespace's root (--nopriv) may not open the /proc file.
  const nsrun = nsrunArgs(
    config,
    {
      exec: false,
      hostname: config.name,
      bindSources: [],
      cgroups: cgroup?.join ?? [],
      slirp: slirpSpec(config, facts, tmpdir),
      bridge: undefined,
    },
    tmpdir,
  );
  const entry = [
    `${image.dir}/busybox`,
    "sh",
    facts.enterScript,
    "--inside",
    "--stdio",
    "inherit",
    "--confine",
    `${image.dir}/confine`,
    "--env",
    `${tmpdir}/env`,
    ...(hasMounts(config) ? ["--mounts", `${tmpdir}/mounts.list`] : []),
    ...(interpreter !== undefined ? ["--interpreter", interpreter] : []),
    ...entryOptions({ ...config, name: undefined }, cgroup?.devices),
    `${tmpdir}/root`,
    `${tmpdir}/args`,
  ];
  const warnings = config.security.privileged
    ? [
        "--privileged: the container is root over this host: every capability and device, no seccomp filter, /proc and /sys writable",
      ]
    : [];
  return {
    tmpdir,
    reuse: config.tempdir !== undefined,
    keep: config.keep,
    notices: [...notices, ...networkNotices(config, facts), ...warnings],
    files: {
      args: argsFile(config.commandBytes),
      env: envFile(containerEnv(config, containerTerm(facts.stdinTty, facts.term))),
      mounts: nsMountsFile(config, tmpdir),
      network: networkFiles(config, facts, NAT.ns),
    },
    file: `${image.dir}/nsrun`,
    // Binds need no staging on the host: enter.sh mounts them from the old root after the pivot.
    args: [...nsrun, ...entry],
    env: { PATH: CONTAINER_PATH },
    publish: config.publish,
    cgroup,
    timeoutSec: config.timeoutSec,
    terminal: facts.stdinTty,
    engine: config.engine,
    init: config.init,
  };
}
