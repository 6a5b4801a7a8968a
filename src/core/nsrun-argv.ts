// nsrun's command line (libexec/nsrun.c), the host-side front of both modes: it dies with tsminc,
// makes the namespaces and the container's root in the tmpdir, joins the run's cgroups, and removes
// the tmpdir itself if tsminc is killed. Then it runs the container's init in a pid namespace of its
// own (ns mode) or becomes qemu (vm mode, --exec). Pure.
import type { RunConfig } from "./run-config.js";

export interface NsrunSpec {
  /** vm mode: the command (qemu) replaces nsrun; no pid namespace */
  readonly exec: boolean;
  /** the container's hostname, set in its uts namespace (ns mode) */
  readonly hostname: string | undefined;
  /** host paths bound at TMPDIR/binds/N for the VM's share (vm mode) */
  readonly bindSources: readonly string[];
  /** cgroup.procs files to join */
  readonly cgroups: readonly string[];
}

/** nsrun's words up to and including "--"; the command follows. */
export function nsrunArgs(config: RunConfig, spec: NsrunSpec, tmpdir: string): string[] {
  return [
    ...(config.nopriv ? ["--user"] : []),
    // In vm mode the guest has its own network; the host side needs none.
    ...(config.net && !spec.exec ? ["--net"] : []),
    ...(config.direct ? ["--direct"] : []),
    ...(spec.hostname === undefined ? [] : ["--hostname", spec.hostname]),
    ...spec.bindSources.flatMap((source) => ["--bind", source]),
    ...spec.cgroups.flatMap((procs) => ["--cgroup", procs]),
    ...(spec.exec ? ["--exec"] : []),
    tmpdir,
    config.rootdir,
    "--",
  ];
}
