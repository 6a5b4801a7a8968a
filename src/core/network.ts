// The container's network, in both modes: slirp4netns's user-mode NAT (the container's namespace in
// ns mode; the VM's NIC, a tap bridged with slirp4netns's, in vm mode), its addresses, options and
// published ports, and the /etc/hosts and /etc/resolv.conf a container on it gets. Pure.
import { MincError } from "./errors.js";

/**
 * none: only the loopback; user: a private network with NAT to the outside; host: the host's own (ns
 * mode); engine: the network namespace an OCI engine made for the container (RunConfig.netns): ns
 * mode joins it, and vm mode bridges the VM's NIC into it, the guest taking over its address.
 */
export type NetworkMode = "none" | "user" | "host" | "engine";

/** The engine's interface in its network namespace, with the IPv4 address and gateway it gave. */
export interface EngineNet {
  readonly iface: string;
  /** its MAC address, which the guest's NIC takes over */
  readonly mac: string;
  readonly address: string;
  readonly prefix: number;
  readonly gateway: string | undefined;
}

export interface Publish {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly proto: "tcp" | "udp";
}

export interface AddHost {
  readonly name: string;
  /** an IPv4 address, or "host-gateway": the NAT's address that leads to the host's loopback */
  readonly address: string;
}

/** The NAT's layout, slirp4netns's defaults. */
export const NAT = {
  cidr: "10.0.2.0/24",
  netmask: "255.255.255.0",
  /** the gateway: also where the host's loopback answers, unless refused */
  gateway: "10.0.2.2",
  dns: "10.0.2.3",
  /** the container's address: the VM's (static, on the kernel command line), or slirp4netns's tap's */
  vm: "10.0.2.15",
  ns: "10.0.2.100",
} as const;

const usage = (message: string, hint: string) => new MincError("usage", message, { hint });

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] (docker's -p); the host side defaults to 127.0.0.1. */
export function parsePublish(text: string): Publish {
  const m = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text);
  const port = (p: string | undefined) => Number(p);
  const ok = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (m === null || !ok(port(m[2])) || !ok(port(m[3])) || (m[1] !== undefined && !IPV4.test(m[1]))) {
    throw usage(
      `-p takes [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp], not "${text}"`,
      "e.g. -p 8080:80 or -p 127.0.0.1:5353:53/udp",
    );
  }
  return {
    hostIp: m[1] ?? "127.0.0.1",
    hostPort: port(m[2]),
    containerPort: port(m[3]),
    proto: (m[4] ?? "tcp") as "tcp" | "udp",
  };
}

/** NAME:IP or NAME:host-gateway (docker's --add-host). */
export function parseAddHost(text: string): AddHost {
  const split = text.indexOf(":");
  const name = text.slice(0, split);
  const address = text.slice(split + 1);
  if (
    split <= 0 ||
    !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(name) ||
    (address !== "host-gateway" && !IPV4.test(address))
  ) {
    throw usage(
      `--add-host takes NAME:IP or NAME:host-gateway, not "${text}"`,
      "e.g. --add-host db:10.0.2.2 or --add-host host:host-gateway",
    );
  }
  return { name, address };
}

export function parseDns(text: string): string {
  if (!IPV4.test(text)) throw usage(`--dns takes an IPv4 address, not "${text}"`, "e.g. --dns 10.0.2.3");
  return text;
}

/** Whether the container may reach the host's loopback through the gateway: only when a name asks for it. */
export function reachesHost(addHosts: readonly AddHost[]): boolean {
  return addHosts.some((h) => h.address === "host-gateway");
}

/** /etc/hosts: localhost, the container's own name at its address, and each --add-host. */
export function hostsFile(hostname: string, address: string, addHosts: readonly AddHost[]): string {
  return [
    "127.0.0.1\tlocalhost",
    `${address}\t${hostname}`,
    ...addHosts.map((h) => `${h.address === "host-gateway" ? NAT.gateway : h.address}\t${h.name}`),
    "",
  ].join("\n");
}

/** The host's resolvers, as slirp4netns's DNS forwarder (10.0.2.3) sees them. */
export interface HostResolvers {
  /** the first IPv4 nameserver of the host's /etc/resolv.conf: where libslirp forwards 10.0.2.3 */
  readonly first: string | undefined;
  /** systemd-resolved's upstream servers (/run/systemd/resolve/resolv.conf), when it runs */
  readonly upstream: readonly string[];
}

/** The nameserver addresses of a resolv.conf, in order. */
export function nameservers(text: string): string[] {
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1] ?? "");
}

const loopback = (address: string) => /^127\./.test(address) || address === "::1";

export interface DnsSetup {
  /** whether 10.0.2.3 forwards to the host's resolver (slirp4netns's --disable-dns when not) */
  readonly forwarder: boolean;
  /** the container's /etc/resolv.conf nameservers */
  readonly nameservers: readonly string[];
  /** a line for the user when the container is left with no resolver */
  readonly notice: string | undefined;
}

/**
 * Where the container's names are resolved. The forwarder sends queries to the host's resolver; when
 * that listens on the host's loopback (systemd-resolved's 127.0.0.53, a dnsmasq), 10.0.2.3 would be a
 * door to the host's loopback on every port, which --disable-host-loopback does not close. Then, as
 * docker does, the forwarder is off and the container asks systemd-resolved's upstream servers
 * itself, through the NAT; unless the user opened the host's loopback anyway (host-gateway).
 */
export function dnsSetup(resolvers: HostResolvers, dns: readonly string[], hostLoopback: boolean): DnsSetup {
  const leaks = !hostLoopback && resolvers.first !== undefined && loopback(resolvers.first);
  const upstream = resolvers.upstream.filter((a) => !loopback(a) && IPV4.test(a));
  const chosen = dns.length > 0 ? dns : leaks ? upstream : [NAT.dns];
  return {
    forwarder: !leaks,
    nameservers: chosen,
    notice:
      chosen.length === 0
        ? `the host's resolver (${resolvers.first ?? ""}) is on its loopback, which containers do not reach: ` +
          "the container resolves no names; pass --dns IP, or --add-host NAME:host-gateway to open the host's loopback"
        : undefined,
  };
}

/** dnsSetup for a run's --dns and --add-host; resolvers unknown (not probed) count as none. */
export function runDns(
  run: { readonly dns: readonly string[]; readonly addHosts: readonly AddHost[] },
  resolvers: HostResolvers | undefined,
): DnsSetup {
  return dnsSetup(resolvers ?? { first: undefined, upstream: [] }, run.dns, reachesHost(run.addHosts));
}

/** /etc/resolv.conf with these nameservers. */
export function resolvConf(servers: readonly string[]): string {
  return [...servers.map((d) => `nameserver ${d}`), ""].join("\n");
}

/** The tap nsrun bridges with slirp4netns's for the VM's NIC (see libexec/slirp.c). */
export const VM_TAP = "tsminc0";

/** qemu's -netdev value: the tap nsrun made, opened by name, no scripts. */
export function tapNetdev(id: string): string {
  return `tap,id=${id},ifname=${VM_TAP},script=no,downscript=no`;
}

/** A prefix length as a dotted netmask (24: 255.255.255.0). */
export function netmaskOf(prefix: number): string {
  const bits = prefix <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefix, 32))) >>> 0;
  return [24, 16, 8, 0].map((shift) => (bits >>> shift) & 0xff).join(".");
}

/**
 * The kernel's static configuration of the VM's NIC (ip=, CONFIG_IP_PNP): no DHCP client, no wait.
 * The NAT's layout, or the engine's address (its resolv.conf is the container's bind, not ours).
 */
export function ipConfigWord(engine?: EngineNet): string {
  if (engine === undefined) return `ip=${NAT.vm}::${NAT.gateway}:${NAT.netmask}::eth0:off:${NAT.dns}`;
  return `ip=${engine.address}::${engine.gateway ?? ""}:${netmaskOf(engine.prefix)}::eth0:off`;
}

/**
 * slirp4netns's options for a run (nsrun adds the descriptors, the API socket, the user namespace
 * and its own pid): the host's loopback refused unless asked for, and the DNS forwarder off where it
 * would lead there (see dnsSetup); in ns mode it also configures the
 * container's tap (address, route, a large MTU); in vm mode the guest configures its own NIC.
 */
export function slirp4netnsOptions(opts: {
  readonly vm: boolean;
  readonly hostLoopback: boolean;
  readonly forwarder: boolean;
}): string[] {
  return [
    ...(opts.vm ? [] : ["--configure", "--mtu=65520"]),
    ...(opts.hostLoopback ? [] : ["--disable-host-loopback"]),
    ...(opts.forwarder ? [] : ["--disable-dns"]),
  ];
}

/** slirp4netns's API request that publishes one port to the container at `guest` (its add_hostfwd). */
export function addHostfwd(p: Publish, guest: string): string {
  return JSON.stringify({
    execute: "add_hostfwd",
    arguments: {
      proto: p.proto,
      host_addr: p.hostIp,
      host_port: p.hostPort,
      guest_addr: guest,
      guest_port: p.containerPort,
    },
  });
}
