// tsminc's flags parsed into a RunConfig, and the contract's own rules: one rule per test, bad values
// with their hints.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBind, parseMemory, toRunConfig, type RawRunOptions } from "../../src/config/from-flags.js";
import { CAPABILITIES, DEFAULT_CAPS } from "../../src/core/capabilities.js";
import { MincError } from "../../src/core/errors.js";

const config = (raw: RawRunOptions, command: string[] = []) => toRunConfig(raw, command, "/home/u");

function rejects(raw: RawRunOptions, message: RegExp): void {
  assert.throws(
    () => config(raw),
    (err: unknown) =>
      err instanceof MincError && err.code === "usage" && message.test(err.message) && (err.hint ?? "") !== "",
  );
}

test("defaults: the host's root, ns mode, the VM's size left to its planner, auto accel", () => {
  const c = config({});
  assert.equal(c.rootdir, "/");
  assert.equal(c.qemu, false);
  assert.equal(c.cpus, undefined);
  assert.equal(c.memMiB, undefined);
  assert.equal(c.accel, "auto");
  assert.deepEqual(c.command, []);
});

test("the command and its arguments are kept exactly, and paths resolve against the cwd", () => {
  const c = config({ rootdir: "rootfs", ermine: "img" }, ["sh", "-c", " $x ", ""]);
  assert.deepEqual(c.command, ["sh", "-c", " $x ", ""]);
  assert.equal(c.rootdir, "/home/u/rootfs");
  assert.equal(c.ermine, "/home/u/img");
});

test("--mem takes K, M, G sizes and plain MiB", () => {
  assert.equal(parseMemory("256M"), 256);
  assert.equal(parseMemory("1G"), 1024);
  assert.equal(parseMemory("96"), 96);
  assert.equal(parseMemory("65536k"), 64);
  for (const bad of ["lots", "16M", "1.5G", "-1"]) rejects({ qemu: true, mem: bad }, /--mem/);
});

test("--cpus is a whole number from 1", () => {
  assert.equal(config({ qemu: true, cpus: "2" }).cpus, 2);
  for (const bad of ["0", "two", "1.5"]) rejects({ qemu: true, cpus: bad }, /--cpus/);
});

test("--bind HOST[:PATH]: the target defaults to the host path, and is absolute", () => {
  assert.deepEqual(parseBind("/srv/data", "/"), { source: "/srv/data", target: "/srv/data", flags: [] });
  assert.deepEqual(parseBind("data:/mnt/d", "/home/u"), { source: "/home/u/data", target: "/mnt/d", flags: [] });
  assert.deepEqual(parseBind("/a:b:/c", "/"), { source: "/a:b", target: "/c", flags: [] });
  rejects({ bind: [":/x"] }, /names no host path/);
});

test("--bind HOST:PATH:OPTS: ro, nosuid, nodev, noexec are kept, rw is the default", () => {
  assert.deepEqual(parseBind("/a:/c:ro", "/").flags, ["ro"]);
  assert.deepEqual(parseBind("/a:/c:rw,noexec,nosuid", "/"), {
    source: "/a",
    target: "/c",
    flags: ["noexec", "nosuid"],
  });
  assert.deepEqual(parseBind("/a:ro", "/"), { source: "/a:ro", target: "/a:ro", flags: [] });
  // A suffix of other words is the target's own: targets may hold colons.
  assert.deepEqual(parseBind("/a:/in side:x", "/"), { source: "/a", target: "/in side:x", flags: [] });
  assert.deepEqual(parseBind("/a:/c:ro,x", "/").target, "/c:ro,x");
});

test("--tmpfs PATH[:OPTS]: docker's defaults (nosuid, nodev, noexec unless exec), checked options", () => {
  assert.deepEqual(config({ tmpfs: ["/run"] }).tmpfs, [{ target: "/run", options: "nosuid,nodev,noexec" }]);
  assert.deepEqual(config({ tmpfs: ["/x/:exec,size=64m,mode=1777"] }).tmpfs, [
    { target: "/x/", options: "nosuid,nodev,size=64m,mode=1777" },
  ]);
  rejects({ tmpfs: ["run"] }, /not absolute/);
  rejects({ tmpfs: ["/x:size=64m,uid=0;reboot"] }, /unknown option uid=0;reboot/);
});

test("--group-add GID and --ulimit NAME=SOFT[:HARD]: numbers, docker's names, unlimited", () => {
  const c = config({ groupAdd: ["10", "100"], ulimit: ["nofile=1024:4096", "CORE=0", "stack=unlimited"] });
  assert.deepEqual(c.groups, [10, 100]);
  assert.deepEqual(c.rlimits, [
    { name: "nofile", soft: 1024n, hard: 4096n },
    { name: "core", soft: 0n, hard: 0n },
    { name: "stack", soft: undefined, hard: undefined },
  ]);
  rejects({ groupAdd: ["wheel"] }, /--group-add takes a group number/);
  for (const [bad, message] of [
    ["nofiles=1", /NAME of as, core/],
    ["nofile=lots", /numbers or "unlimited"/],
    ["nofile=10:5", /soft limit is above the hard one/],
    ["nofile=unlimited:5", /soft limit is above/],
  ] as const)
    rejects({ ulimit: [bad] }, message);
  rejects({ nopriv: "/r", groupAdd: ["10"] }, /--group-add cannot apply with --nopriv/);
});

test("--user UID[:GID] as numbers", () => {
  assert.deepEqual(config({ user: "1000:100" }).user, { uid: 1000, gid: 100 });
  assert.deepEqual(config({ user: "7" }).user, { uid: 7, gid: 7 });
  for (const bad of ["root", "1000:", "-1"]) rejects({ user: bad }, /--user/);
});

test("capabilities: docker's default set; --cap-add, --cap-drop and MINCS's --nocaps change it", () => {
  const caps = (raw: RawRunOptions) => config(raw).security.caps;
  assert.deepEqual(
    caps({}),
    [...DEFAULT_CAPS].sort((a, b) => CAPABILITIES.indexOf(a) - CAPABILITIES.indexOf(b)),
  );
  assert.ok(caps({ capAdd: ["sys_admin"] }).includes("SYS_ADMIN"));
  assert.ok(!caps({ capDrop: ["CAP_CHOWN"] }).includes("CHOWN"));
  assert.ok(!caps({ nocaps: "net_raw,cap_kill" }).some((c) => c === "NET_RAW" || c === "KILL"));
  assert.deepEqual(caps({ capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] }), ["NET_BIND_SERVICE"]);
  assert.equal(caps({ capAdd: ["ALL"], capDrop: ["SYS_ADMIN"] }).length, CAPABILITIES.length - 1);
  for (const bad of ["cap_sys-admin", ",", "cap_x;rm"]) rejects({ nocaps: bad }, /--nocaps takes capability names/);
  rejects({ capAdd: ["SYS_EVERYTHING"] }, /--cap-add takes capability names/);
});

test("--privileged: every capability, no seccomp filter; --cap-* cannot apply with it", () => {
  const s = config({ privileged: true }).security;
  assert.deepEqual([s.caps.length, s.seccomp, s.privileged], [CAPABILITIES.length, false, true]);
  rejects({ privileged: true, capDrop: ["CHOWN"] }, /--privileged keeps every capability/);
  assert.deepEqual([config({}).security.seccomp, config({}).security.privileged], [true, false]);
});

test("--security-opt: seccomp=unconfined, no-new-privileges[:true|false]; anything else is refused", () => {
  assert.equal(config({ securityOpt: ["seccomp=unconfined"] }).security.seccomp, false);
  assert.equal(config({ securityOpt: ["no-new-privileges"] }).security.noNewPrivs, true);
  assert.equal(config({ securityOpt: ["no-new-privileges:true"] }).security.noNewPrivs, true);
  assert.equal(config({ securityOpt: ["no-new-privileges=false"] }).security.noNewPrivs, false);
  rejects({ securityOpt: ["seccomp=/etc/profile.json"] }, /not profile files/);
  rejects({ securityOpt: ["apparmor=docker-default"] }, /is not one tsminc knows/);
  assert.equal(config({ readOnly: true }).security.readOnly, true);
});

test("--name takes up to 64 bytes, shell metacharacters included, but no NUL or newline", () => {
  assert.equal(config({ name: "a$b;`c` d" }).name, "a$b;`c` d");
  for (const bad of ["", "x".repeat(65), "a\nb"]) rejects({ name: bad }, /--name/);
});

test("--arch takes aliases; --accel auto|kvm|tcg", () => {
  assert.equal(config({ arch: "aarch64" }).arch, "arm64");
  rejects({ arch: "mips" }, /unknown arch/);
  rejects({ accel: "hvf" }, /unknown --accel/);
});

test("-t reuses a kept tmpdir and keeps it again; -k and -D do not mix", () => {
  assert.equal(config({ tempdir: "/run/tsminc/tsminc-1" }).keep, true);
  rejects({ keep: true, direct: true }, /--keep and --direct/);
});

test("--nopriv DIR names the rootfs (relative to the cwd) and cannot be combined with -r", () => {
  const c = config({ nopriv: "root" });
  assert.equal(c.nopriv, true);
  assert.equal(c.rootdir, "/home/u/root");
  rejects({ nopriv: "root", rootdir: "/r" }, /--nopriv DIR already names the rootfs/);
});

test("limits: sizes with units, CPUs as fractions, process counts; none by default", () => {
  assert.equal(config({}).limits, undefined);
  assert.deepEqual(config({ memLimit: "32M", cpuLimit: "0.5", pidMax: "20" }).limits, {
    memBytes: 32 * 2 ** 20,
    cpus: 0.5,
    pids: 20,
  });
  assert.equal(config({ memLimit: "1g" }).limits?.memBytes, 2 ** 30);
  rejects({ memLimit: "lots" }, /--mem-limit takes a size/);
  rejects({ memLimit: "1k" }, /below 4M/);
  rejects({ cpuLimit: "0" }, /--cpu-limit/);
  rejects({ cpuLimit: "-1" }, /--cpu-limit/);
  rejects({ pidMax: "1" }, /--pid-max/);
  rejects({ pidMax: "2.5" }, /--pid-max/);
});

test("--timeout takes positive seconds; --no-init and --append are kept as given", () => {
  assert.equal(config({ timeout: "1.5" }).timeoutSec, 1.5);
  rejects({ timeout: "0" }, /--timeout/);
  rejects({ timeout: "soon" }, /--timeout/);
  assert.equal(config({}).init, true);
  assert.equal(config({ init: false }).init, false);
  assert.deepEqual(config({ qemu: true, append: " loglevel=7  init=/x " }).append, ["loglevel=7", "init=/x"]);
  rejects({ qemu: true, append: `a="b c"` }, /--append word/);
  rejects({ qemu: true, append: "a=\u0001" }, /--append word/);
});

test("the contract: what only a VM has is refused in ns mode, never ignored", () => {
  rejects({ cpus: "2" }, /--cpus is for the VM, and ns mode has none/);
  rejects({ mem: "1G", append: "quiet" }, /--mem and --append are for the VM/);
  rejects({ accel: "tcg" }, /--accel is for the VM/);
  assert.equal(config({ accel: "auto" }).accel, "auto");
});

test("the root disk: an image's root in a VM has one unless --no-root-disk; a folder's only with --root-disk", () => {
  const image = "docker://127.0.0.1:5000/tools/img:v1";
  assert.equal(config({ qemu: true, image }).rootDisk, true);
  assert.equal(config({ qemu: true, image, rootDisk: false }).rootDisk, false);
  assert.equal(config({ qemu: true, nopriv: "oci-archive:/i.tar" }).rootDisk, true);
  assert.equal(config({ image }).rootDisk, false, "ns mode has no disks, and says nothing of them");
  assert.equal(config({ qemu: true, rootdir: "/r" }).rootDisk, false);
  assert.equal(config({ qemu: true, rootdir: "/r", rootDisk: true }).rootDisk, true);
  rejects({ image, rootDisk: true }, /--root-disk is for the VM/);
});

test("the contract: --nopriv with --usedev or --user only in vm mode, never with limits", () => {
  rejects({ nopriv: "root", usedev: true }, /--usedev cannot apply with --nopriv/);
  rejects({ nopriv: "root", user: "5" }, /--user cannot apply with --nopriv/);
  assert.equal(config({ qemu: true, nopriv: "root", usedev: true, user: "5" }).usedev, true);
  rejects({ qemu: true, nopriv: "root", memLimit: "64M" }, /need root: --nopriv gets no cgroup/);
  rejects({ nopriv: "root", pidMax: "9" }, /need root/);
});

test("the contract: -t with --direct is refused (nothing was kept to reuse); a RunConfig is frozen", () => {
  rejects({ tempdir: "/run/tsminc/tsminc-1", direct: true }, /-t and --direct do not mix/);
  assert.ok(Object.isFrozen(config({})));
});
