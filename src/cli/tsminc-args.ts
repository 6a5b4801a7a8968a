// tsminc's command line: its options (the one table, also the --help text) and a parser that stops
// at the command. Hand-written on purpose: loading commander cost 15 ms of a ~100 ms ns-mode run.
// Pure.
import type { RawRunOptions } from "../config/from-flags.js";
import { ESCAPE_HELP } from "../core/console-escape.js";
import { MincError } from "../core/errors.js";

interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  /** the value's name in --help; absent for a flag */
  readonly value?: string;
  readonly key: keyof RawRunOptions;
  readonly help: string;
  /** repeatable: values collect into a list */
  readonly list?: boolean;
  /** a --no-X flag: sets key to false */
  readonly negates?: boolean;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    long: "rootdir",
    short: "r",
    value: "dir",
    key: "rootdir",
    help: "the container's root filesystem (default: /); an image reference too (see --image)",
  },
  {
    long: "image",
    short: "i",
    value: "ref",
    key: "image",
    help: "run an image: docker://HOST/NAME[:TAG|@DIGEST], oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE, ROOTFS.tar[.gz|.xz|.zst]",
  },
  {
    long: "env",
    short: "e",
    value: "key[=value]",
    key: "env",
    list: true,
    help: "set a variable in the container (KEY alone: copy yours)",
  },
  { long: "env-file", value: "file", key: "envFile", list: true, help: "read KEY=VALUE lines from a file" },
  { long: "workdir", short: "w", value: "dir", key: "workdir", help: "the folder the command starts in" },
  {
    long: "entrypoint",
    value: "program",
    key: "entrypoint",
    help: "replace the image's entrypoint (and its default command); '' clears it",
  },
  {
    long: "tls-verify",
    value: "bool",
    key: "tlsVerify",
    help: "check registries' certificates (default: true; false also allows plain http)",
  },
  { long: "cert-file", value: "pem", key: "certFile", help: "a CA certificate to trust for registries" },
  {
    long: "authfile",
    value: "file",
    key: "authFile",
    help: "registry credentials (default: $REGISTRY_AUTH_FILE, podman's auth.json, ~/.docker/config.json)",
  },
  { long: "keep", short: "k", key: "keep", help: "keep the container's tmpdir (its writes) and print how to reuse it" },
  { long: "tempdir", short: "t", value: "dir", key: "tempdir", help: "reuse a tmpdir kept with -k (implies -k)" },
  { long: "direct", short: "D", key: "direct", help: "no overlay: the container writes into the rootfs" },
  {
    long: "bind",
    short: "b",
    value: "host[:path[:opts]]",
    key: "bind",
    list: true,
    help: "bind a host file or folder into the container (repeatable); opts: ro, nosuid, nodev, noexec",
  },
  {
    long: "tmpfs",
    value: "path[:opts]",
    key: "tmpfs",
    list: true,
    help: "a tmpfs of the container's own at path (repeatable; nosuid,nodev,noexec unless opts say exec)",
  },
  { long: "name", value: "name", key: "name", help: "the container's hostname" },
  { long: "user", value: "uid[:gid]", key: "user", help: "run the command with these numeric ids" },
  {
    long: "group-add",
    value: "gid",
    key: "groupAdd",
    list: true,
    help: "a supplementary group of the command, by number (repeatable)",
  },
  {
    long: "ulimit",
    value: "name=soft[:hard]",
    key: "ulimit",
    list: true,
    help: "a resource limit of the command, e.g. nofile=1024:4096 (repeatable)",
  },
  {
    long: "cap-add",
    value: "caps",
    key: "capAdd",
    list: true,
    help: "capabilities to keep besides docker's default set, e.g. SYS_ADMIN, or ALL",
  },
  {
    long: "cap-drop",
    value: "caps",
    key: "capDrop",
    list: true,
    help: "capabilities to drop from the default set, e.g. NET_RAW, or ALL",
  },
  { long: "nocaps", value: "caps", key: "nocaps", help: "MINCS's --cap-drop, e.g. cap_sys_admin,cap_net_raw" },
  {
    long: "privileged",
    key: "privileged",
    help: "no confinement: every capability and device, no seccomp filter, /proc and /sys writable",
  },
  {
    long: "security-opt",
    value: "opt",
    key: "securityOpt",
    list: true,
    help: "seccomp=unconfined (no seccomp filter) or no-new-privileges",
  },
  { long: "read-only", key: "readOnly", help: "mount the container's root read-only (tmpfs and binds stay writable)" },
  { long: "usedev", key: "usedev", help: "devtmpfs as /dev instead of a minimal /dev" },
  {
    long: "network",
    value: "mode",
    key: "network",
    help: "user (a private NAT network; default with --qemu), none (loopback only), host (ns mode's default)",
  },
  { long: "net", short: "n", key: "net", help: "MINCS's --network none" },
  {
    long: "publish",
    short: "p",
    value: "[ip:]hostport:port[/udp]",
    key: "publish",
    list: true,
    help: "publish a container port on the host (default ip 127.0.0.1), repeatable",
  },
  {
    long: "add-host",
    value: "name:ip",
    key: "addHost",
    list: true,
    help: "an /etc/hosts entry; name:host-gateway reaches the host's loopback",
  },
  {
    long: "dns",
    value: "ip",
    key: "dns",
    list: true,
    help: "the container's name server (default: the NAT's, 10.0.2.3)",
  },
  { long: "nopriv", value: "dir", key: "nopriv", help: "run as yourself, not root: DIR is the rootfs, left untouched" },
  { long: "pivot", key: "pivot", help: "accepted for MINCS compatibility: ermine always uses pivot_root" },
  { long: "qemu", key: "qemu", help: "run the container inside an ermine micro-VM (default: namespaces on the host)" },
  {
    long: "arch",
    value: "arch",
    key: "arch",
    help: "the rootfs's architecture: x86_64, arm64, arm (default: the rootfs's, else the host's)",
  },
  { long: "cpus", value: "n", key: "cpus", help: "virtual CPUs of the VM (default: the host's, up to 8)" },
  {
    long: "mem",
    value: "size",
    key: "mem",
    help: "memory of the VM, e.g. 512M, 4G (default: a quarter of the host's, 256M to 2G)",
  },
  { long: "accel", value: "accel", key: "accel", help: "auto (KVM when usable), kvm or tcg (default: auto)" },
  {
    long: "ermine",
    value: "dir",
    key: "ermine",
    help: "image folder (default: the package's images/, then ~/.local/share/tsminc/images)",
  },
  { long: "no-init", key: "init", negates: true, help: "run the command as the container's PID 1, with no init" },
  {
    long: "timeout",
    value: "seconds",
    key: "timeout",
    help: "kill the container after this long; tsminc then exits 124",
  },
  {
    long: "mem-limit",
    value: "size",
    key: "memLimit",
    help: "cgroup memory limit on the container (on qemu with --qemu)",
  },
  { long: "cpu-limit", value: "cpus", key: "cpuLimit", help: "cgroup CPU limit in CPUs, e.g. 0.5" },
  { long: "pid-max", value: "n", key: "pidMax", help: "cgroup limit on processes, e.g. 100" },
  { long: "append", value: "words", key: "append", help: "more words for the VM kernel's command line (--qemu)" },
  {
    long: "no-snapshot",
    key: "snapshot",
    negates: true,
    help: "boot the VM cold: neither resume nor save a snapshot of a booted ermine (--qemu)",
  },
  {
    long: "root-disk",
    key: "rootDisk",
    help: "give the VM the root as disks (the rootfs packed, writes in an ext4 image), not over 9p (--qemu; an image's root has them unless --no-root-disk)",
  },
  {
    long: "no-root-disk",
    key: "rootDisk",
    negates: true,
    help: "give the VM an image's root over 9p, not as disks (--qemu)",
  },
  { long: "dry-run", key: "dryRun", help: "print the plan, with the full argv, and start nothing" },
  { long: "debug", key: "debug", help: "show the kernel and init messages, and trace the container entry" },
];

export type Parsed = { readonly help: true } | { readonly raw: RawRunOptions; readonly command: string[] };

const usage = (message: string) => new MincError("usage", message, { hint: "see tsminc --help" });

/** Options first, then the command: the first word that is not an option (or everything after "--"). */
export function parseTsmincArgs(args: readonly string[]): Parsed {
  const raw: Record<string, unknown> = {};
  const set = (spec: OptionSpec, value: string | undefined) => {
    if (spec.value === undefined) raw[spec.key] = !spec.negates;
    else if (spec.list) raw[spec.key] = [...((raw[spec.key] as string[] | undefined) ?? []), value];
    else raw[spec.key] = value;
  };
  let i = 0;
  /** The option's value: glued on (--x=v, -rv) or the next word. */
  const valueFor = (spec: OptionSpec, glued: string | undefined, shown: string): string => {
    if (glued !== undefined) return glued;
    const next = args[i + 1];
    if (next === undefined) throw usage(`option '${shown}' needs a value <${spec.value ?? ""}>`);
    i++;
    return next;
  };
  for (; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") return { raw: raw, command: args.slice(i + 1) };
    if (arg === "-h" || arg === "--help") return { help: true };
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = OPTIONS.find((o) => o.long === name);
      if (spec === undefined) throw usage(`unknown option '${arg}'`);
      if (spec.value === undefined && eq >= 0) throw usage(`option '--${name}' takes no value`);
      set(spec, spec.value === undefined ? undefined : valueFor(spec, eq < 0 ? undefined : arg.slice(eq + 1), arg));
    } else if (arg.startsWith("-") && arg.length > 1) {
      // -kD: flags in a cluster; -rDIR or -r DIR: a value.
      for (let j = 1; j < arg.length; j++) {
        const spec = OPTIONS.find((o) => o.short === arg[j]);
        if (spec === undefined) throw usage(`unknown option '-${arg[j] ?? ""}'`);
        if (spec.value === undefined) {
          set(spec, undefined);
          continue;
        }
        set(spec, valueFor(spec, j + 1 < arg.length ? arg.slice(j + 1) : undefined, `-${spec.short ?? ""}`));
        break;
      }
    } else {
      return { raw: raw, command: args.slice(i) };
    }
  }
  return { raw: raw, command: [] };
}

export function helpText(): string {
  const rows = [
    ...OPTIONS.map((o) => {
      const names = `${o.short ? `-${o.short}, ` : "    "}--${o.long}${o.value ? ` <${o.value}>` : ""}`;
      return [names, o.help] as const;
    }),
    ["-h, --help", "display this help"] as const,
  ];
  const width = Math.max(...rows.map(([n]) => n.length));
  return [
    "Usage: tsminc [options] [--] [command [args...]]",
    "       tsminc gc   (clean up after killed runs, and prune unused images; a command named gc: tsminc -- gc)",
    "       tsminc snapshot ls | rm KEY... | rm --all   (the saved ermines --qemu runs resume)",
    "       tsminc pull [--arch A] [--tls-verify=false] [--cert-file CA] [--authfile F] REF",
    "       tsminc images | tsminc rmi REF...",
    "",
    "Run a command in a container; with --qemu, inside its own ermine micro-VM.",
    `In a terminal, ${ESCAPE_HELP} kills the VM. No command runs the rootfs's /bin/sh.`,
    "",
    "Options:",
    ...rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`),
    "",
  ].join("\n");
}
