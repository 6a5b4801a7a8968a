// --network engine in vm mode: the interface an OCI engine made in the container's network namespace
// (podman's CNI veth, eth0), with the IPv4 address and gateway it gave, read with iproute2 in there.
import { spawnSync } from "node:child_process";
import type { EngineNet } from "../core/network.js";

interface IpAddr {
  readonly ifname?: string;
  readonly address?: string;
  readonly addr_info?: readonly { readonly family?: string; readonly local?: string; readonly prefixlen?: number }[];
}

function ipJson(netns: string, args: readonly string[]): unknown {
  const r = spawnSync("nsenter", [`--net=${netns}`, "ip", "-j", ...args], { encoding: "utf8" });
  if (r.status !== 0) return [];
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    return [];
  }
}

/** The first interface but the loopback with an IPv4 address, and the default route's gateway. */
export function probeEngineNet(netns: string): EngineNet | undefined {
  const links = ipJson(netns, ["addr", "show"]) as readonly IpAddr[];
  for (const link of links) {
    const v4 = link.addr_info?.find((a) => a.family === "inet" && a.local !== undefined);
    const mac = link.address ?? "";
    if (link.ifname === undefined || link.ifname === "lo" || v4?.local === undefined) continue;
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) continue;
    const routes = ipJson(netns, ["-4", "route", "show", "default"]) as readonly { readonly gateway?: string }[];
    return { iface: link.ifname, mac, address: v4.local, prefix: v4.prefixlen ?? 32, gateway: routes[0]?.gateway };
  }
  return undefined;
}
