// The front of a --qemu run's argv: setpriv so nothing outlives tsminc, unshare for a private mount
// namespace (and a user namespace with --nopriv), then prepare-root.sh to mount the container root
// into the tmpdir, stage the binds and join the run's cgroups. What follows the returned words
// (qemu) is exec'd last. Host mode starts with the image's nsrun instead (host-plan.ts). Pure.
import type { RunConfig } from "../config/run-config.js";

export function prepareChain(
  config: RunConfig,
  prepareScript: string,
  tmpdir: string,
  bindSources: readonly string[],
  cgroupProcs: readonly string[],
): string[] {
  return [
    // If tsminc dies, even by SIGKILL, the kernel kills the chain: no VM outlives it.
    "--pdeathsig",
    "KILL",
    "--",
    "unshare",
    // --nopriv: a user namespace whose root is the caller, so the overlay and the rest need no privilege.
    ...(config.nopriv ? ["--user", "--map-root-user"] : []),
    "--mount",
    "--propagation",
    "private",
    "--",
    "/bin/sh",
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
