// The validated contract of one container run: every front end (flags, later an image's config or
// an OCI config.json) builds a RunConfig with runConfig(), whose rules need the config alone. Pure.
import type { ArchName } from "./arch.js";
import type { Capability } from "./capabilities.js";
import type { ImageRef } from "./image-ref.js";
import type { AddHost, NetworkMode, Publish } from "./network.js";
import { MincError } from "./errors.js";
import type { Rlimit } from "./rlimits.js";

/** cgroup limits on the container (ns mode) or on qemu (vm mode) */
export interface Limits {
  readonly memBytes: number | undefined;
  /** CPUs' worth of time per period, e.g. 0.5 */
  readonly cpus: number | undefined;
  readonly pids: number | undefined;
}

/** What a bind may add to its mount (-b HOST:PATH:ro, an OCI mount's options). */
export type BindFlag = "ro" | "nosuid" | "nodev" | "noexec";
export const BIND_FLAGS: readonly BindFlag[] = ["ro", "nosuid", "nodev", "noexec"];

export interface Bind {
  /** absolute host path */
  readonly source: string;
  /** absolute path inside the container */
  readonly target: string;
  readonly flags: readonly BindFlag[];
}

/** A tmpfs of the container's own (--tmpfs PATH[:OPTIONS], an OCI tmpfs mount). */
export interface Tmpfs {
  /** absolute path inside the container */
  readonly target: string;
  /** mount(8) options, checked: ro, nosuid, nodev, noexec, size=, mode=, uid=, gid=, nr_inodes= */
  readonly options: string;
}

/** How the container is confined, in both modes (in the VM too, so it behaves the same). */
export interface Security {
  /** the capabilities it keeps (bounding set included) */
  readonly caps: readonly Capability[];
  /** the default seccomp filter (off: --security-opt seccomp=unconfined, or --privileged) */
  readonly seccomp: boolean;
  /** --security-opt no-new-privileges */
  readonly noNewPrivs: boolean;
  /** --privileged: every capability and device, no seccomp filter, /proc and /sys writable (MINCS's way) */
  readonly privileged: boolean;
  /** --read-only: the root is mounted read-only; writes go to tmpfs and binds only */
  readonly readOnly: boolean;
}

/** How images are fetched from registries (--tls-verify, --cert-file, --authfile). */
export interface RegistrySettings {
  readonly tlsVerify: boolean;
  /** a CA (PEM) to trust besides the system's */
  readonly certFile: string | undefined;
  /** the auth file; undefined: $REGISTRY_AUTH_FILE, podman's, then docker's */
  readonly authFile: string | undefined;
}

export interface RunConfig {
  /** vm mode (an ermine micro-VM) or ns mode (namespaces on the host) */
  readonly qemu: boolean;
  /** the root: a folder (-r DIR), or the one an image was unpacked into (see withImage) */
  readonly rootdir: string;
  /** the image the root comes from (-i REF, or -r/--nopriv with a reference); undefined: a folder */
  readonly image: ImageRef | undefined;
  readonly registry: RegistrySettings;
  /** KEY=VALUE entries for the container's environment, in order (-e, --env-file; an image's Env first) */
  readonly env: readonly string[];
  /** the folder the command starts in (-w, an image's WorkingDir); undefined: / */
  readonly workdir: string | undefined;
  /** --entrypoint: replaces an image's Entrypoint (and drops its Cmd); undefined: the image's */
  readonly entrypoint: readonly string[] | undefined;
  readonly keep: boolean;
  /** a kept container's tmpdir to reuse (-t) */
  readonly tempdir: string | undefined;
  readonly direct: boolean;
  readonly binds: readonly Bind[];
  readonly tmpfs: readonly Tmpfs[];
  readonly name: string | undefined;
  readonly user: { readonly uid: number; readonly gid: number } | undefined;
  /** supplementary groups (--group-add, config.json's additionalGids); empty: only the primary group */
  readonly groups: readonly number[];
  /** setrlimit for the command (--ulimit, config.json's rlimits), in order */
  readonly rlimits: readonly Rlimit[];
  readonly security: Security;
  readonly usedev: boolean;
  /** none: only the loopback, up; user: a private NAT network; host: the host's (ns mode only) */
  readonly network: NetworkMode;
  /** --network engine: the path of the engine's network namespace (config.json's) */
  readonly netns: string | undefined;
  /** ports published on the host (-p), --network user only */
  readonly publish: readonly Publish[];
  /** --add-host entries for /etc/hosts, and --dns servers for /etc/resolv.conf (--network user) */
  readonly addHosts: readonly AddHost[];
  readonly dns: readonly string[];
  /** run as the calling user, inside a user namespace (--nopriv DIR, DIR being the rootfs) */
  readonly nopriv: boolean;
  readonly debug: boolean;
  readonly dryRun: boolean;
  /** vm mode: resume a saved ermine instead of booting (warm start), saving one first if missing */
  readonly snapshot: boolean;
  /** vm mode (--root-disk, an image's by default): the root as a read-only disk packed from the rootfs (root-disk.ts); false: over 9p */
  readonly rootDisk: boolean;
  readonly arch: ArchName | undefined;
  /** the VM's CPUs and memory; undefined: the default, sized from the host (vm-size.ts; vm mode only) */
  readonly cpus: number | undefined;
  readonly memMiB: number | undefined;
  readonly accel: "auto" | "kvm" | "tcg";
  readonly ermine: string | undefined;
  /** the command runs as PID 2 under a small init (default), or as PID 1 itself (--no-init) */
  readonly init: boolean;
  /**
   * run by an OCI engine (tsminc-runtime): a signal to the launcher goes to the container's command,
   * whose status is then the run's (the engine's kill), and later processes may join the container
   * (exec; in the VM through qemu's QMP socket and the tsminc.ctl port); else a signal stops the run
   * (tsminc's Ctrl-C: 128+n)
   */
  readonly engine: boolean;
  /** kill the container after this many seconds (exit status 124) */
  readonly timeoutSec: number | undefined;
  /** extra words for the guest kernel's command line (--append) */
  readonly append: readonly string[];
  readonly limits: Limits | undefined;
  /** the command and its arguments, exactly as given (empty: the rootfs's shell) */
  readonly command: readonly string[];
  /** the same as bytes, exactly as the kernel passed them (they may not be UTF-8) */
  readonly commandBytes: readonly Buffer[];
}

const refuse = (message: string, hint: string) => new MincError("usage", message, { hint });

/** The rules between fields: a combination that cannot take effect is refused, never ignored. */
function check(c: RunConfig): void {
  if (c.keep && c.direct && c.tempdir === undefined)
    throw refuse("--keep and --direct do not mix: with --direct nothing is kept apart", "drop one of them");
  if (c.direct && c.tempdir !== undefined)
    throw refuse("-t and --direct do not mix: with --direct nothing was kept to reuse", "drop one of them");
  if (c.image !== undefined && c.direct) {
    throw refuse(
      "--direct cannot apply to an image: its unpacked root is shared by every run and never written",
      "drop --direct (the container writes to its own overlay)",
    );
  }
  if (c.nopriv && c.limits !== undefined) {
    throw refuse(
      "--mem-limit, --cpu-limit and --pid-max need root: --nopriv gets no cgroup of its own",
      "wrap the run instead: systemd-run --user --scope -p MemoryMax=64M -p TasksMax=100 tsminc --nopriv ...",
    );
  }
  if ((c.network === "engine") !== (c.netns !== undefined))
    throw refuse("the engine's network needs the path of its namespace, and only it has one", "fix the front end");
  if (c.network === "engine" && c.nopriv)
    throw refuse("an engine's network namespace cannot be joined with --nopriv", "run the engine as root");
  if (c.qemu && c.network === "host") {
    throw refuse(
      "--network host is for ns mode: a VM has a network of its own",
      "use --network user (the default) or none",
    );
  }
  if (c.network !== "user") {
    const userOnly = [
      ...(c.publish.length === 0 ? [] : ["-p"]),
      ...(c.addHosts.length === 0 ? [] : ["--add-host"]),
      ...(c.dns.length === 0 ? [] : ["--dns"]),
    ];
    if (userOnly.length > 0) {
      throw refuse(
        `${userOnly.join(", ")} ${userOnly.length > 1 ? "need" : "needs"} --network user, not ${c.network}`,
        "add --network user",
      );
    }
  }
  if (c.qemu) return;
  // ns mode: what only a VM has, and what a user namespace's root may not do on the host.
  const vmOnly = [
    ...(c.cpus === undefined ? [] : ["--cpus"]),
    ...(c.memMiB === undefined ? [] : ["--mem"]),
    ...(c.accel === "auto" ? [] : ["--accel"]),
    ...(c.append.length === 0 ? [] : ["--append"]),
    ...(c.rootDisk ? ["--root-disk"] : []),
  ];
  if (vmOnly.length > 0) {
    throw refuse(
      `${vmOnly.join(" and ")} ${vmOnly.length > 1 ? "are" : "is"} for the VM, and ns mode has none`,
      "add --qemu, or drop them",
    );
  }
  if (c.nopriv && c.usedev)
    throw refuse(
      "--usedev cannot apply with --nopriv: a user namespace may not mount devtmpfs",
      "drop --usedev, or add --qemu",
    );
  if (c.nopriv && c.groups.length > 0) {
    throw refuse(
      "--group-add cannot apply with --nopriv: only your own group is mapped into the container",
      "drop --group-add, or add --qemu",
    );
  }
  if (c.nopriv && c.user !== undefined) {
    throw refuse(
      "--user cannot apply with --nopriv: only your own id is mapped into the container",
      "drop --user (inside, you are root mapped to yourself), or add --qemu",
    );
  }
}

/** The one way to make a RunConfig: checked, then frozen. */
export function runConfig(fields: RunConfig): RunConfig {
  check(fields);
  return Object.freeze({ ...fields });
}
