// The container's network, planned: flags, the NAT's files, qemu's NIC, slirp4netns's argv.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toRunConfig, type RawRunOptions } from "../../src/config/from-flags.js";
import { MincError } from "../../src/core/errors.js";
import type { HostFacts } from "../../src/core/host-facts.js";
import {
  addHostfwd,
  dnsSetup,
  hostsFile,
  nameservers,
  parseAddHost,
  parsePublish,
  resolvConf,
} from "../../src/core/network.js";
import { planNs } from "../../src/core/ns-plan.js";
import { planVm } from "../../src/core/vm-plan.js";
import { facts } from "../helpers/facts.js";

const config = (raw: RawRunOptions) => toRunConfig({ rootdir: "/r", ...raw }, ["true"], "/");
const vm = (raw: RawRunOptions, over: Partial<HostFacts> = {}) =>
  planVm(config({ qemu: true, ...raw }), facts(over), "/run/tsminc/tsminc-T");
const ns = (raw: RawRunOptions) => planNs(config(raw), facts(), "/run/tsminc/tsminc-T");

function rejects(raw: RawRunOptions, message: RegExp): void {
  assert.throws(
    () => config(raw),
    (e: unknown) => e instanceof MincError && message.test(e.message) && (e.hint ?? "") !== "",
  );
}

test("--network: user in a VM and the host's in ns mode by default; -n is none; host is ns mode's only", () => {
  assert.equal(config({ qemu: true }).network, "user");
  assert.equal(config({}).network, "host");
  assert.equal(config({ net: true }).network, "none");
  assert.equal(config({ network: "user" }).network, "user");
  rejects({ qemu: true, network: "host" }, /--network host is for ns mode/);
  rejects({ network: "bridge" }, /--network takes none, user or host/);
  rejects({ net: true, network: "user" }, /-n\/--net is --network none/);
});

test("-p, --add-host and --dns: parsed as docker does, and only with --network user", () => {
  assert.deepEqual(parsePublish("8080:80"), { hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp" });
  assert.deepEqual(parsePublish("0.0.0.0:53:5353/udp"), {
    hostIp: "0.0.0.0",
    hostPort: 53,
    containerPort: 5353,
    proto: "udp",
  });
  for (const bad of ["80", "70000:80", "a:1:2", "1:2/sctp"]) rejects({ qemu: true, publish: [bad] }, /-p takes/);
  assert.deepEqual(parseAddHost("db:10.0.2.9"), { name: "db", address: "10.0.2.9" });
  assert.deepEqual(parseAddHost("host:host-gateway"), { name: "host", address: "host-gateway" });
  rejects({ qemu: true, addHost: ["db"] }, /--add-host takes NAME:IP/);
  rejects({ qemu: true, dns: ["one.one"] }, /--dns takes an IPv4 address/);
  rejects({ publish: ["80:80"] }, /-p needs --network user, not host/);
  rejects(
    { qemu: true, network: "none", addHost: ["a:1.2.3.4"], dns: ["1.1.1.1"] },
    /--add-host, --dns need --network user/,
  );
});

test("the container's /etc/hosts and /etc/resolv.conf on the NAT", () => {
  assert.equal(
    hostsFile("box", "10.0.2.15", [
      { name: "db", address: "10.0.2.9" },
      { name: "host", address: "host-gateway" },
    ]),
    "127.0.0.1\tlocalhost\n10.0.2.15\tbox\n10.0.2.9\tdb\n10.0.2.2\thost\n",
  );
  assert.equal(resolvConf(["192.0.2.53"]), "nameserver 192.0.2.53\n");
});

test("vm mode, user: virtio-net on the tap nsrun bridges with slirp4netns's, ip= on the command line", () => {
  const p = vm({ publish: ["8080:80", "5353:53/udp"], name: "box" });
  const args = p.qemu.args;
  assert.equal(args[args.indexOf("-netdev") + 1], "tap,id=net0,ifname=tsminc0,script=no,downscript=no");
  assert.equal(args[args.indexOf("-device", args.indexOf("-netdev")) + 1], "virtio-net-device,netdev=net0");
  assert.match(
    args[args.indexOf("-append") + 1] ?? "",
    / ip=10\.0\.2\.15::10\.0\.2\.2:255\.255\.255\.0::eth0:off:10\.0\.2\.3( |$)/,
  );
  // nsrun: a network namespace for qemu's NIC and slirp4netns (the guest configures its own NIC).
  const front = p.args.slice(0, p.args.indexOf("--"));
  assert.deepEqual(front.slice(0, 5), [
    "--net",
    "--slirp",
    "--disable-host-loopback",
    "--slirp-socket",
    "/run/tsminc/tsminc-T/slirp.sock",
  ]);
  assert.deepEqual(
    front.filter((_, i) => front[i - 1] === "--slirp-request").map((r) => JSON.parse(r) as unknown),
    [
      {
        execute: "add_hostfwd",
        arguments: { proto: "tcp", host_addr: "127.0.0.1", host_port: 8080, guest_addr: "10.0.2.15", guest_port: 80 },
      },
      {
        execute: "add_hostfwd",
        arguments: { proto: "udp", host_addr: "127.0.0.1", host_port: 5353, guest_addr: "10.0.2.15", guest_port: 53 },
      },
    ],
  );
  assert.equal(front[front.indexOf("--bridge") + 1], "tsminc0");
  assert.doesNotMatch(p.files.runSh, / --net /);
  assert.equal(p.files.network?.hosts, "127.0.0.1\tlocalhost\n10.0.2.15\tbox\n");
  assert.deepEqual(
    p.files.mounts,
    Buffer.from("bind\0/mnt/hosts\0/etc/hosts\0\0bind\0/mnt/resolv.conf\0/etc/resolv.conf\0\0"),
  );
  // host-gateway: slirp4netns leaves the host's loopback reachable, by that name.
  assert.ok(!vm({ addHost: ["h:host-gateway"] }).args.includes("--disable-host-loopback"));
});

test("vm mode, none: no NIC, a namespace of its own with its loopback up, no network files", () => {
  const p = vm({ network: "none" });
  assert.ok(!p.qemu.args.includes("-netdev"));
  assert.doesNotMatch(p.qemu.args.join(" "), / ip=/);
  assert.match(p.files.runSh, / --net /);
  assert.equal(p.files.network, undefined);
});

test("ns mode, user: nsrun makes the namespace, slirp4netns configures it and refuses the host's loopback unless asked", () => {
  const p = ns({ network: "user", publish: ["8080:80"] });
  const front = p.args.slice(0, p.args.indexOf("--"));
  assert.deepEqual(front.slice(0, 9), [
    "--net",
    "--slirp",
    "--configure",
    "--slirp",
    "--mtu=65520",
    "--slirp",
    "--disable-host-loopback",
    "--slirp-socket",
    "/run/tsminc/tsminc-T/slirp.sock",
  ]);
  assert.deepEqual(JSON.parse(front[front.indexOf("--slirp-request") + 1] ?? ""), {
    execute: "add_hostfwd",
    arguments: { proto: "tcp", host_addr: "127.0.0.1", host_port: 8080, guest_addr: "10.0.2.100", guest_port: 80 },
  });
  assert.ok(!front.includes("--bridge"));
  assert.deepEqual(p.publish, [{ hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp" }]);
  assert.ok(!ns({ network: "user", addHost: ["h:host-gateway"] }).args.includes("--disable-host-loopback"));
  assert.ok(!ns({}).args.includes("--net"));
  assert.ok(!ns({}).args.includes("--slirp-socket"));
  assert.equal(
    addHostfwd({ hostIp: "0.0.0.0", hostPort: 1, containerPort: 2, proto: "udp" }, "10.0.2.100").includes(
      '"guest_port":2',
    ),
    true,
  );
});

test("DNS: the forwarder unless the host's resolver is on its loopback; then the upstream servers, or none and a notice", () => {
  assert.deepEqual(nameservers("# c\nnameserver 127.0.0.53\n  nameserver 192.0.2.1\nsearch x\n"), [
    "127.0.0.53",
    "192.0.2.1",
  ]);
  const away = { first: "192.0.2.53", upstream: [] };
  const local = { first: "127.0.0.53", upstream: ["127.0.0.1", "192.0.2.1", "::1", "fe80::1"] };
  assert.deepEqual(dnsSetup(away, [], false), { forwarder: true, nameservers: ["10.0.2.3"], notice: undefined });
  assert.deepEqual(dnsSetup(local, [], false), { forwarder: false, nameservers: ["192.0.2.1"], notice: undefined });
  // host-gateway opened the host's loopback anyway: the forwarder may lead there too.
  assert.deepEqual(dnsSetup(local, [], true), { forwarder: true, nameservers: ["10.0.2.3"], notice: undefined });
  assert.deepEqual(dnsSetup(local, ["192.0.2.9"], false), {
    forwarder: false,
    nameservers: ["192.0.2.9"],
    notice: undefined,
  });
  const alone = dnsSetup({ first: "127.0.0.1", upstream: [] }, [], false);
  assert.deepEqual([alone.forwarder, alone.nameservers], [false, []]);
  assert.match(alone.notice ?? "", /resolver \(127\.0\.0\.1\) is on its loopback.*--dns IP/);
  assert.equal(resolvConf([]), "");
  // The plans of both modes: slirp4netns's --disable-dns, the container's resolv.conf, the notice.
  const loopbackHost = { resolvers: { first: "127.0.0.53", upstream: [] } };
  for (const p of [vm({}, loopbackHost), planNs(config({ network: "user" }), facts(loopbackHost), "/t")]) {
    assert.ok(p.args.includes("--disable-dns"));
    assert.equal(p.files.network?.resolv, "");
    assert.equal(p.notices.filter((n) => /resolves no names/.test(n)).length, 1);
  }
  assert.ok(!vm({}).args.includes("--disable-dns"));
  assert.deepEqual(vm({}).notices, []);
});
