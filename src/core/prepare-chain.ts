// The front of every run's argv, host mode and --qemu alike: setpriv so nothing outlives tsminc,
// unshare for a private mount namespace (and a user namespace with --nopriv), then prepare-root.sh
// to mount the container root into the tmpdir and join the run's cgroups. What follows the returned
// words is exec'd last. Pure.
import type { RunConfig } from "../config/run-config.js";

/** What host mode changes in the chain: its unshare also makes the container's uts, ipc and net namespaces. */
export interface ChainOptions {
  /** the unshare program (default: from PATH) */
  readonly unshare?: string;
  /** more unshare options, after the mount namespace's */
  readonly namespaces?: readonly string[];
  /** what runs prepare-root.sh (default /bin/sh) */
  readonly shell?: readonly string[];
}

export function prepareChain(
  config: RunConfig,
  prepareScript: string,
  tmpdir: string,
  bindSources: readonly string[],
  cgroupProcs: readonly string[],
  opts: ChainOptions = {},
): string[] {
  return [
    // If tsminc dies, even by SIGKILL, the kernel kills the chain: no VM or container outlives it.
    "--pdeathsig",
    "KILL",
    "--",
    opts.unshare ?? "unshare",
    // --nopriv: a user namespace whose root is the caller, so the overlay and the rest need no privilege.
    ...(config.nopriv ? ["--user", "--map-root-user"] : []),
    "--mount",
    "--propagation",
    "private",
    ...(opts.namespaces ?? []),
    "--",
    ...(opts.shell ?? ["/bin/sh"]),
    prepareScript,
    tmpdir,
    config.rootdir,
    config.direct ? "1" : "0",
    String(bindSources.length),
    ...bindSources,
    String(cgroupProcs.length),
    ...cgroupProcs,
    "--",
  ];
}

/** The program the chain starts with. */
export const CHAIN_FILE = "setpriv";
