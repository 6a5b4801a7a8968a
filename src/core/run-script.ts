// The run.sh the guest's init runs from the share, and the NUL-separated files beside it. Pure.
import { capabilityMask } from "./capabilities.js";
import { CONTAINER_PATH, containerEnv, containerPath } from "./container-process.js";
import { hostsFile, resolvConf, runDns } from "./network.js";
import type { HostFacts } from "./host-facts.js";
import { rlimitWord } from "./rlimits.js";
import type { RunConfig } from "./run-config.js";
import { shellJoin } from "./shell-quote.js";

/** Where the share is mounted in the guest, and the files tsminc writes into it. */
export const GUEST_SHARE = "/mnt";
export const SHARE_FILES = {
  runSh: "run.sh",
  args: "args",
  env: "env",
  mounts: "mounts.list",
  status: "exitcode",
} as const;

export type StdioMode = "tty" | "ports";

/** The PATH the entry chain runs with on the host, and the container's default (enter.sh's too). */
export { CONTAINER_PATH };

/** The command's arguments, each ended by a NUL: read back by enter.sh without any shell parsing. */
export function argsFile(command: readonly Buffer[]): Buffer {
  const words = command.length > 0 ? command : [Buffer.from("/bin/sh")];
  return Buffer.concat(words.flatMap((arg) => [arg, Buffer.from([0])]));
}

/** The files tsminc writes for a container on --network user, and where they are bound inside. */
export const NETWORK_FILES = [
  { name: "hosts", target: "/etc/hosts" },
  { name: "resolv.conf", target: "/etc/resolv.conf" },
] as const;

/** Path components: a mount goes in after those it lies within (podman sorts config.json's so). */
const depth = (target: string) => target.split("/").filter((c) => c !== "").length;

/**
 * The container's own mounts, made by enter.sh after the pivot: KIND, SOURCE, TARGET and OPTIONS
 * each ended by a NUL. KIND is bind (SOURCE a path outside the container, OPTIONS its flags) or
 * tmpfs (OPTIONS for mount -o). The network files first (a -b of the same target lands on top), then
 * the tmpfs and -b binds, shallower targets first; a bind's sources are `source(i)` (the VM: the
 * share's binds/N).
 */
export function mountsList(config: RunConfig, dir: string, source: (i: number) => string): Buffer {
  const network =
    config.network === "user" ? NETWORK_FILES.map((f) => ["bind", `${dir}/${f.name}`, f.target, ""] as const) : [];
  const own = [
    ...config.tmpfs.map((t) => ["tmpfs", "tmpfs", t.target, t.options] as const),
    ...config.binds.map((b, i) => ["bind", source(i), b.target, b.flags.join(",")] as const),
  ].sort((a, b) => depth(a[2]) - depth(b[2]));
  return Buffer.concat([...network, ...own].map((fields) => Buffer.from(fields.map((f) => `${f}\0`).join(""))));
}

/** The VM's: sources are guest paths in the share. */
export function mountsFile(config: RunConfig): Buffer {
  return mountsList(config, GUEST_SHARE, (i) => `${GUEST_SHARE}/binds/${i}`);
}

/** The cgroup the guest's enter.sh makes for the container, in the devices hierarchy (guest-init/init). */
export const GUEST_DEVICES_CGROUP = "/run/cgroup/devices/container";

/**
 * enter.sh's options that follow from the config alone: the same in the guest and on the host.
 * `devicesCgroup`: the cgroup v2 folder whose BPF program filters the container's devices, when it has one.
 */
export function entryOptions(config: RunConfig, devicesCgroup: string | undefined): string[] {
  const s = config.security;
  return [
    ...(config.name === undefined ? [] : ["--name", config.name]),
    ...(config.usedev ? ["--usedev"] : []),
    // A network namespace of its own, its loopback up: --network none, and user in ns mode (where
    // slirp4netns gives it its tap). In the VM, user shares the guest's, with its NIC.
    ...(config.network === "none" || (config.network === "user" && !config.qemu) ? ["--net"] : []),
    ...(config.nopriv ? ["--nopriv"] : []),
    // --privileged: MINCS's way, nothing confined.
    ...(s.privileged ? [] : ["--caps", capabilityMask(s.caps), "--mask"]),
    ...(s.seccomp ? ["--seccomp"] : []),
    ...(s.noNewPrivs ? ["--no-new-privs"] : []),
    ...(s.readOnly ? ["--read-only"] : []),
    ...(devicesCgroup === undefined ? [] : ["--devices-cgroup", devicesCgroup]),
    ...(config.user === undefined ? [] : ["--user", `${config.user.uid}:${config.user.gid}`]),
    ...(config.groups.length === 0 ? [] : ["--groups", config.groups.join(":")]),
    ...config.rlimits.flatMap((r) => ["--rlimit", rlimitWord(r)]),
    ...(config.init ? [] : ["--no-init"]),
    ...processOptions(config),
    ...(config.debug ? ["--debug"] : []),
  ];
}

/** enter.sh's --path (where the command is looked up, when the container's PATH is not the default) and --workdir. */
function processOptions(config: RunConfig): string[] {
  const path = containerPath(containerEnv(config, undefined));
  return [
    ...(path === CONTAINER_PATH ? [] : ["--path", path]),
    ...(config.workdir === undefined ? [] : ["--workdir", config.workdir]),
  ];
}

/** The network files' contents (see NETWORK_FILES) for a container at `address`; none off --network user. */
export function networkFiles(
  config: RunConfig,
  facts: Pick<HostFacts, "hostname" | "resolvers">,
  address: string,
): { readonly hosts: string; readonly resolv: string } | undefined {
  if (config.network !== "user") return undefined;
  return {
    hosts: hostsFile(config.name ?? facts.hostname, address, config.addHosts),
    resolv: resolvConf(runDns(config, facts.resolvers).nameservers),
  };
}

/** The line for the user when --network user leaves the container no resolver (see dnsSetup). */
export function networkNotices(config: RunConfig, facts: Pick<HostFacts, "resolvers">): string[] {
  const notice = config.network === "user" ? runDns(config, facts.resolvers).notice : undefined;
  return notice === undefined ? [] : [notice];
}

/** Whether enter.sh mounts anything of the container's own: -b, --tmpfs, or the network files. */
export function hasMounts(config: RunConfig): boolean {
  return config.binds.length > 0 || config.tmpfs.length > 0 || config.network === "user";
}

/**
 * Whether the container's devices are filtered: not with --privileged, nor with --usedev (devtmpfs:
 * every device node, and each can be opened), nor for --nopriv in ns mode (no cgroup of its own; a
 * user namespace may open no device it does not own anyway).
 */
export function filtersDevices(config: RunConfig): boolean {
  return !config.security.privileged && !config.usedev && (config.qemu || !config.nopriv);
}

/** The container's TERM: the caller's, for a container on the caller's terminal only. */
export function containerTerm(terminal: boolean, term: string | undefined): string | undefined {
  return terminal && term !== undefined && term !== "" ? term : undefined;
}

/**
 * Above this size the guest reads the arguments from a copy in its own /tmp: enter.sh reads them a
 * byte at a time, and over 9p every byte is a round trip to qemu (115 s for 1 MB under TCG).
 */
export const LOCAL_ARGS_OVER = 4096;
const LOCAL_ARGS = "/tmp/ermine-args";

export function runScript(
  config: RunConfig,
  stdio: StdioMode,
  tty: { rows: number; cols: number } | undefined,
  /** the line that mounts the root from the root disk first (root-disk-plan.ts), if any */
  rootDisk?: string,
): string {
  const local = argsFile(config.commandBytes).length > LOCAL_ARGS_OVER;
  const words = [
    "/lib/ermine/enter.sh",
    "--stdio",
    stdio,
    ...(tty === undefined ? [] : ["--tty-size", String(tty.rows), String(tty.cols)]),
    "--env",
    `${GUEST_SHARE}/${SHARE_FILES.env}`,
    ...(hasMounts(config) ? ["--mounts", `${GUEST_SHARE}/${SHARE_FILES.mounts}`] : []),
    ...entryOptions(config, filtersDevices(config) ? GUEST_DEVICES_CGROUP : undefined),
    `${GUEST_SHARE}/root`,
    local ? LOCAL_ARGS : `${GUEST_SHARE}/${SHARE_FILES.args}`,
  ];
  return [
    "#!/bin/sh",
    "# Written by tsminc: enter the container in /mnt/root and run the command listed in /mnt/args.",
    ...(rootDisk === undefined ? [] : [rootDisk]),
    ...(local ? [`cat ${GUEST_SHARE}/${SHARE_FILES.args} >${LOCAL_ARGS} || exit 125`] : []),
    `exec ${shellJoin(words)}`,
    "",
  ].join("\n");
}
