// nsrun's command line (libexec/nsrun.c), the host-side front of both modes: it dies with tsminc,
// makes the namespaces and the container's root in the tmpdir, joins the run's cgroups, and removes
// the tmpdir itself if tsminc is killed. Then it runs the container's init in a pid namespace of its
// own (ns mode) or becomes qemu (vm mode, --exec). Pure.
import type { HostFacts } from "./host-facts.js";
import { addHostfwd, NAT, reachesHost, runDns, slirp4netnsOptions, VM_TAP } from "./network.js";
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
  /** --network user: slirp4netns's options, its API socket, the ports' requests (see slirp.c) */
  readonly slirp:
    { readonly options: readonly string[]; readonly socket: string; readonly requests: readonly string[] } | undefined;
  /** vm mode: the tap for qemu's NIC, bridged with slirp4netns's */
  readonly bridge: string | undefined;
  /** --network engine in vm mode: the engine's interface the tap is bridged with instead */
  readonly uplink?: string;
  /** vm mode with a root disk: the guest makes the container's root, nsrun mounts none */
  readonly guestRoot?: boolean;
}

/** nsrun's words up to and including "--"; the command follows. */
export function nsrunArgs(config: RunConfig, spec: NsrunSpec, tmpdir: string): string[] {
  return [
    ...(config.nopriv ? ["--user"] : []),
    // ns mode: the container's own network namespace; vm mode: one for qemu's NIC and slirp4netns.
    ...(config.netns === undefined ? [] : ["--netns", config.netns]),
    ...(config.network !== "engine" && (spec.exec ? config.network === "user" : config.network !== "host")
      ? ["--net"]
      : []),
    ...(spec.slirp === undefined
      ? []
      : [
          ...spec.slirp.options.flatMap((o) => ["--slirp", o]),
          "--slirp-socket",
          spec.slirp.socket,
          ...spec.slirp.requests.flatMap((r) => ["--slirp-request", r]),
        ]),
    ...(spec.bridge === undefined ? [] : ["--bridge", spec.bridge]),
    ...(spec.uplink === undefined ? [] : ["--uplink", spec.uplink]),
    ...(config.direct ? ["--direct"] : []),
    ...(spec.guestRoot === true ? ["--guest-root"] : []),
    ...(spec.hostname === undefined ? [] : ["--hostname", spec.hostname]),
    ...spec.bindSources.flatMap((source) => ["--bind", source]),
    ...spec.cgroups.flatMap((procs) => ["--cgroup", procs]),
    ...(spec.exec ? ["--exec"] : []),
    tmpdir,
    config.rootdir,
    "--",
  ];
}

/** --network user: slirp4netns for the run, its API socket in the tmpdir, a request per published port. */
export function slirpSpec(config: RunConfig, facts: Pick<HostFacts, "resolvers">, tmpdir: string): NsrunSpec["slirp"] {
  if (config.network !== "user") return undefined;
  return {
    options: slirp4netnsOptions({
      vm: config.qemu,
      hostLoopback: reachesHost(config.addHosts),
      forwarder: runDns(config, facts.resolvers).forwarder,
    }),
    socket: `${tmpdir}/slirp.sock`,
    requests: config.publish.map((p) => addHostfwd(p, config.qemu ? NAT.vm : NAT.ns)),
  };
}

/** vm mode: the tap for qemu's NIC (--network user, engine), bridged by nsrun. */
export const vmBridge = (config: RunConfig): string | undefined =>
  config.qemu && (config.network === "user" || config.network === "engine") ? VM_TAP : undefined;
