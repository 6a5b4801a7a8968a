// The vm-mode planner (--qemu): inputs it refuses, choices it makes, and whole argvs pinned as golden files.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { toRunConfig, type RawRunOptions } from "../../src/config/from-flags.js";
import { MincError } from "../../src/core/errors.js";
import type { HostFacts } from "../../src/core/host-facts.js";
import type { ArchName } from "../../src/core/arch.js";
import { restoreArgs } from "../../src/core/snapshot-plan.js";
import { defaultVmSize, vmSize } from "../../src/core/vm-size.js";
import { planVm } from "../../src/core/vm-plan.js";
import { packageRoot } from "../../src/host/paths.js";
import { facts } from "../helpers/facts.js";

const plan = (raw: RawRunOptions, over: Partial<HostFacts> = {}, command = ["true"]) =>
  planVm(toRunConfig({ qemu: true, rootdir: "/r", ...raw }, command, "/"), facts(over), "/run/tsminc/tsminc-T");

function refused(raw: RawRunOptions, over: Partial<HostFacts>, message: RegExp, hint: RegExp): void {
  assert.throws(
    () => plan(raw, over),
    (err: unknown) => {
      assert.ok(err instanceof MincError);
      assert.match(err.message, message);
      assert.match(err.hint ?? "", hint);
      return true;
    },
  );
}

test("refused: not root, bad rootfs", () => {
  refused({}, { uid: 1000 }, /needs root/, /sudo/);
  refused({}, { rootfs: "missing" }, /rootfs \/r does not exist/, /-r/);
  refused({}, { rootfs: "not-dir" }, /is not a folder/, /-r/);
});

test("refused: no image names the breed command; no qemu names the apt package", () => {
  refused(
    { arch: "arm" },
    { rootfsArch: { arch: "arm" } },
    /no arm ermine image in \/img/,
    /tsermine breed --arch arm/,
  );
  refused({}, { qemuBinaries: new Set() }, /qemu-system-x86_64 is not installed/, /apt-get install qemu-system-x86/);
});

test("refused: --accel kvm where KVM does not work, a missing bind source, -t of a foreign folder", () => {
  refused({ accel: "kvm" }, {}, /KVM is not usable: the CPU has no vmx\/svm flag/, /--accel tcg/);
  refused({ bind: ["/nope"] }, {}, /--bind source \/nope does not exist/, /existing/);
  refused({ tempdir: "/tmp/x" }, { tempdir: "other" }, /not a tmpdir kept/, /tsminc -k/);
});

test("the rootfs's arch: a mismatch with --arch is refused, an unknown CPU too", () => {
  refused(
    { arch: "x86_64" },
    { rootfsArch: { arch: "arm64" } },
    /rootfs \/r is built for arm64, not --arch x86_64/,
    /--arch arm64/,
  );
  refused({}, { rootfsArch: { other: "mips (32-bit, big-endian)" } }, /built for mips/, /rootfs for one of those/);
});

test("without --arch a foreign rootfs picks its own arch, with a notice; a rootfs without ELF uses the host's", () => {
  const foreign = plan({}, { rootfsArch: { arch: "arm64" } });
  assert.equal(foreign.arch, "arm64");
  assert.equal(foreign.qemu.file, "qemu-system-aarch64");
  assert.deepEqual(foreign.notices, ["rootfs /r is built for arm64: running it with --arch arm64"]);
  assert.deepEqual(plan({}).notices, []);
  assert.equal(plan({}, { rootfsArch: undefined }).arch, "x86_64");
});

test("accel auto: KVM when usable, else TCG with the reason", () => {
  assert.equal(plan({}).accel, "tcg");
  assert.equal(plan({}).accelReason, "the CPU has no vmx/svm flag");
  const kvm = plan({}, { kvmProblem: { x86_64: undefined, arm64: "x", arm: "x" } });
  assert.equal(kvm.accel, "kvm");
  assert.ok(kvm.args.includes("host"));
});

test("stdio: a terminal on both ends gets the console, anything else gets virtio-serial pipes", () => {
  const tty = plan({}, { stdinTty: true, stdoutTty: true, ttySize: { rows: 30, cols: 100 } });
  assert.equal(tty.stdio, "tty");
  assert.deepEqual(
    tty.sockets.map((s) => s.name),
    ["tsminc.ctl"],
  );
  assert.match(tty.files.runSh, /--stdio tty --tty-size 30 100/);
  const pipes = plan({}, { stdinTty: true, stdoutTty: false });
  assert.equal(pipes.stdio, "ports");
  assert.deepEqual(
    pipes.sockets.map((s) => s.name),
    ["tsminc.ctl", "tsminc.stdin", "tsminc.stdout", "tsminc.stderr"],
  );
});

test("the arguments go NUL-separated into a file, never into run.sh", () => {
  const p = plan({}, {}, ["printf", "%s\\n", "a b", "$(id)", ""]);
  assert.deepEqual(p.files.args, Buffer.from("printf\0%s\\n\0a b\0$(id)\0\0"));
  assert.ok(!p.files.runSh.includes("$(id)"));
  assert.deepEqual(plan({}, {}, []).files.args, Buffer.from("/bin/sh\0"));
});

test("run.sh passes the container options to enter.sh, shell-quoted", () => {
  const p = plan({
    name: "it's",
    user: "1:2",
    nocaps: "net_raw",
    usedev: true,
    bind: ["/srv/file:/etc/f"],
    network: "none",
  });
  const line = p.files.runSh.split("\n").find((l) => l.startsWith("exec "));
  assert.equal(
    line,
    "exec /lib/ermine/enter.sh --stdio ports --env /mnt/env --mounts /mnt/mounts.list --name 'it'\\''s' --usedev --net --caps a80405fb --mask --seccomp --user 1:2 /mnt/root /mnt/args",
  );
  assert.deepEqual(p.files.mounts, Buffer.from("bind\0/mnt/binds/0\0/etc/f\0\0"));
  assert.deepEqual(p.binds, [{ source: "/srv/file", kind: "file" }]);
});

test("run.sh: supplementary groups and resource limits go to enter.sh (and on to confine) as plain words", () => {
  const p = plan({ network: "none", user: "5:6", groupAdd: ["7", "8"], ulimit: ["nofile=10:20", "core=unlimited"] });
  assert.match(p.files.runSh, / --user 5:6 --groups 7:8 --rlimit nofile:10:20 --rlimit core:unlimited:unlimited /);
});

test("--network engine: nsrun joins the engine's namespace and bridges the tap with its interface; the guest takes its address", () => {
  const engineNet = { iface: "eth0", mac: "8a:d3:3a:e1:dc:cd", address: "10.88.0.4", prefix: 16, gateway: "10.88.0.1" };
  const config = {
    ...toRunConfig({ qemu: true, rootdir: "/r", network: "none" }, ["true"], "/"),
    network: "engine" as const,
    netns: "/run/netns/cni-1",
  };
  const p = planVm(config, facts({ engineNet }), "/run/tsminc/tsminc-T");
  const front = p.args.slice(0, p.args.indexOf("--"));
  assert.deepEqual(front.slice(0, 6), ["--netns", "/run/netns/cni-1", "--bridge", "tsminc0", "--uplink", "eth0"]);
  assert.ok(!front.includes("--net"));
  assert.match(p.qemu.args.join(" "), / ip=10\.88\.0\.4::10\.88\.0\.1:255\.255\.0\.0::eth0:off( |$)/);
  assert.match(p.qemu.args.join(" "), /virtio-net-device,netdev=net0,mac=8a:d3:3a:e1:dc:cd/);
  assert.doesNotMatch(p.files.runSh, / --net /);
  assert.throws(() => planVm(config, facts(), "/run/tsminc/tsminc-T"), /no IPv4 interface/);
});

test("the container's mounts: network files first, then tmpfs and binds with their options, shallow first", () => {
  const p = plan({ network: "none", bind: ["/srv/a:/data/in:ro"], tmpfs: ["/data", "/run:size=1m"] });
  const records = p.files.mounts.toString().split("\0");
  assert.deepEqual(records, [
    ...["tmpfs", "tmpfs", "/data", "nosuid,nodev,noexec"],
    ...["tmpfs", "tmpfs", "/run", "nosuid,nodev,noexec,size=1m"],
    ...["bind", "/mnt/binds/0", "/data/in", "ro"],
    "",
  ]);
  assert.match(p.files.runSh, / --mounts \/mnt\/mounts\.list /);
});

test("the host side: the host image's nsrun mounts the root and stages the binds, then becomes qemu", () => {
  const p = plan({ direct: true, bind: ["/srv/dir:/d"], network: "none" });
  assert.equal(p.file, "/img/x86_64/nsrun");
  const qemuAt = p.args.indexOf("qemu-system-x86_64");
  assert.deepEqual(p.args.slice(0, qemuAt), [
    "--direct",
    "--bind",
    "/srv/dir",
    "--exec",
    "/run/tsminc/tsminc-T",
    "/r",
    "--",
  ]);
  // An arm64 VM on this x86_64 host still prepares its root with the host's own nsrun.
  assert.equal(plan({ arch: "arm64" }, { rootfsArch: { arch: "arm64" } }).file, "/img/x86_64/nsrun");
});

test("refused: no image of the host's own arch, whose nsrun vm mode needs", () => {
  const arm64Only = { images: { arm64: facts().images.arm64 ?? assert.fail() } };
  refused(
    { arch: "arm64" },
    { ...arm64Only, rootfsArch: { arch: "arm64" } },
    /nsrun, from the x86_64 ermine image/,
    /tsermine breed --arch x86_64/,
  );
});

test("limits: nsrun joins the run's cgroups before it becomes qemu", () => {
  const p = plan({ memLimit: "300M", pidMax: "50" });
  const qemuAt = p.args.indexOf("qemu-system-x86_64");
  assert.deepEqual(p.args.slice(qemuAt - 6, qemuAt), [
    "--cgroup",
    "/sys/fs/cgroup/tsminc/tsminc-T/cgroup.procs",
    "--exec",
    "/run/tsminc/tsminc-T",
    "/r",
    "--",
  ]);
  assert.equal(p.cgroup?.version, 2);
});

test("--cpus: the arch's most is taken, one more is refused; the defaults fill what was not given", () => {
  assert.equal(plan({ cpus: "64" }).cpus, 64);
  refused({ cpus: "65" }, {}, /an x86_64 ermine runs at most 64 CPUs/, /--cpus 64 or fewer/);
  refused({ arch: "arm64", cpus: "9" }, { rootfsArch: { arch: "arm64" } }, /at most 8 CPUs/, /--cpus 8/);
  // The fixed facts' host: 4 CPUs, 16 GiB.
  assert.deepEqual([plan({}).cpus, plan({}).memMiB], [4, 2048]);
  assert.deepEqual([plan({ cpus: "1", mem: "128M" }).cpus, plan({ cpus: "1", mem: "128M" }).memMiB], [1, 128]);
});

test("default size: every host CPU up to 8 (and the arch's most), a quarter of the host's RAM in 128 MiB steps, 256 MiB to 2 GiB", () => {
  const sized = (cpus: number, memMiB: number, arch: ArchName = "x86_64") => defaultVmSize(arch, { cpus, memMiB });
  assert.deepEqual(sized(2, 24 * 1024), { cpus: 2, memMiB: 2048 });
  assert.deepEqual(sized(1, 3000), { cpus: 1, memMiB: 640 });
  assert.deepEqual(sized(1, 512), { cpus: 1, memMiB: 256 });
  assert.deepEqual(sized(96, 512 * 1024), { cpus: 8, memMiB: 2048 });
  assert.deepEqual(sized(16, 8192, "arm"), { cpus: 8, memMiB: 2048 });
  // The snapshot key follows the size: the default is one snapshot, --mem 128M another.
  assert.notEqual(plan({}).snapshot?.key, plan({ mem: "128M" }).snapshot?.key);
});

test("refused: a VM bigger than the host's memory, in one line naming what fits", () => {
  refused(
    { mem: "32G" },
    {},
    /--mem 32768M is more than this host's memory \(16384 MiB\)/,
    /--mem 16384M at most.*default here: 2048M/,
  );
  assert.equal(plan({ mem: "16G" }).memMiB, 16384);
  // A 32-bit arm guest's RAM must end below 4 GiB.
  assert.throws(
    () => vmSize("arm", { cpus: undefined, memMiB: 4096 }, { cpus: 2, memMiB: 16384 }),
    (e: unknown) =>
      e instanceof MincError &&
      /an arm ermine has at most 3072 MiB/.test(e.message) &&
      /--mem 3072M/.test(e.hint ?? ""),
  );
  assert.equal(vmSize("arm", { cpus: undefined, memMiB: 3072 }, { cpus: 2, memMiB: 16384 }).memMiB, 3072);
});

test("--append words end the kernel command line; --no-init and --timeout reach enter.sh and the plan", () => {
  const p = plan({ append: "loglevel=7 init=/x", init: false, timeout: "9" });
  const cmdline = p.qemu.args[p.qemu.args.indexOf("-append") + 1] ?? "";
  assert.match(cmdline, / loglevel=7 init=\/x$/);
  assert.match(p.files.runSh, / --no-init \/mnt\/root /);
  assert.equal(p.timeoutSec, 9);
});

test("refused: an image packed with other guest code than this tsminc's", () => {
  refused({}, { guestInit: "g2" }, /packed with other guest code/, /tsermine breed --arch x86_64/);
});

test("warm start: a snapshot keyed by everything that must match, not by the run's own folder", () => {
  const p = plan({});
  assert.ok(p.snapshot);
  assert.equal(p.snapshotOff, undefined);
  assert.match(p.snapshot.state, /^\/cache\/snapshots\/[0-9a-f]{32}\.state$/);
  assert.equal(p.qmp, "/run/tsminc/tsminc-T/qmp.sock");
  assert.ok(p.qemu.args.includes("unix:/run/tsminc/tsminc-T/qmp.sock,server=on,wait=off"));
  // Another tmpdir, same key: the share, sockets and QMP socket are not in the saved state.
  const elsewhere = planVm(
    toRunConfig({ qemu: true, rootdir: "/r" }, ["true"], "/"),
    facts(),
    "/run/tsminc/tsminc-other",
  );
  assert.equal(elsewhere.snapshot?.key, p.snapshot.key);
  // What the saved state depends on changes the key.
  const key = (raw: Parameters<typeof plan>[0], over: Parameters<typeof plan>[1] = {}) => plan(raw, over).snapshot?.key;
  for (const [raw, over] of [
    [{ mem: "256M" }, {}],
    [{ cpus: "2" }, {}],
    [{ append: "foo=bar" }, {}],
    [{}, { stdinTty: true, stdoutTty: true, ttySize: { rows: 24, cols: 80 } }],
    [{}, { tscKhz: 2500000 }],
    [{}, { guestInit: "g1", qemuIds: { "qemu-system-x86_64": "/usr/bin/qemu-system-x86_64:2:1" } }],
  ] as const)
    assert.notEqual(key(raw, over), p.snapshot.key, JSON.stringify([raw, over]));
  // A restore adds only nsrun's --incoming and qemu's -incoming to the argv.
  assert.deepEqual(restoreArgs(["--exec", "/t", "/", "--", "qemu", "-m", "128"], "/c/k.state"), [
    "--incoming",
    "3",
    "/c/k.state",
    "--exec",
    "/t",
    "/",
    "--",
    "qemu",
    "-m",
    "128",
    "-incoming",
    "fd:3",
  ]);
  // The path is a word of nsrun's argv, never a shell's.
  assert.deepEqual(restoreArgs([], "/c/it's $x.state").slice(0, 3), ["--incoming", "3", "/c/it's $x.state"]);
});

test("warm start is off with --no-snapshot, --debug and an engine's network, and says why", () => {
  for (const [raw, why] of [
    [{ snapshot: false }, /--no-snapshot/],
    [{ debug: true }, /--debug/],
  ] as const) {
    const p = plan(raw);
    assert.equal(p.snapshot, undefined);
    assert.match(p.snapshotOff ?? "", why);
  }
  // Without a snapshot or an engine, qemu gets no QMP socket.
  assert.ok(!plan({ snapshot: false }).qemu.args.includes("-qmp"));
});

const GOLDEN = join(packageRoot, "test/unit/golden");

for (const [name, raw, over] of [
  ["x86_64-pipes", { cpus: "2", mem: "256M" }, {}],
  ["x86_64-terminal", {}, { stdinTty: true, stdoutTty: true, ttySize: { rows: 24, cols: 80 } }],
  ["arm64-pipes", { arch: "arm64", debug: true }, { rootfsArch: { arch: "arm64" } }],
] as const) {
  test(`golden argv: ${name}`, () => {
    const p = plan(raw, over);
    const actual = JSON.stringify({ file: p.file, args: p.args, runSh: p.files.runSh.split("\n") }, null, 2) + "\n";
    const file = join(GOLDEN, `${name}.json`);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, actual);
    assert.equal(actual, readFileSync(file, "utf8"), `${file} (UPDATE_GOLDEN=1 rewrites it after review)`);
  });
}

test("confinement in the VM: the device filter on the guest's own container cgroup, none with --usedev", () => {
  assert.match(plan({}).files.runSh, / --devices-cgroup \/run\/cgroup\/devices\/container /);
  assert.doesNotMatch(plan({ usedev: true }).files.runSh, /--devices-cgroup/);
  assert.doesNotMatch(plan({ privileged: true }).files.runSh, /--caps|--seccomp|--mask|--devices-cgroup/);
  // The host side of a vm-mode run has no cgroup without limits: the guest filters the devices.
  assert.equal(plan({}).cgroup, undefined);
});

test("--root-disk: the guest overlays the packed rootfs with an ext4 disk of the tmpdir; nsrun mounts no root", () => {
  const p = plan({ rootDisk: true });
  assert.deepEqual(p.rootDisk, {
    rootfs: "/r",
    lower: "/run/tsminc/tsminc-T/root.disk",
    upper: "/run/tsminc/tsminc-T/upper.ext4",
    tools: { erofs: "/usr/bin/mkfs.erofs", ext4: "/sbin/mkfs.ext4" },
    dir: "/cache/root-disks",
    nopriv: false,
    image: false,
  });
  const drives = (q: readonly string[]) => q.flatMap((a, i) => (a === "-drive" ? [q[i + 1]] : []));
  assert.deepEqual(drives(p.qemu.args), [
    "file=/run/tsminc/tsminc-T/root.disk,if=none,id=lower,format=raw,readonly=on,aio=io_uring",
    "file=/run/tsminc/tsminc-T/upper.ext4,if=none,id=upper,format=raw,discard=unmap,aio=io_uring",
  ]);
  // Where io_uring is refused (a seccomp filter, the kernel's switch), qemu's thread pool.
  assert.deepEqual(drives(plan({ rootDisk: true }, { ioUring: false }).qemu.args), [
    "file=/run/tsminc/tsminc-T/root.disk,if=none,id=lower,format=raw,readonly=on",
    "file=/run/tsminc/tsminc-T/upper.ext4,if=none,id=upper,format=raw,discard=unmap",
  ]);
  assert.ok(p.qemu.args.includes("virtio-blk-device,drive=lower,serial=tsminc-lower"));
  assert.ok(p.qemu.args.includes("virtio-blk-device,drive=upper,serial=tsminc-upper"));
  assert.ok(p.args.includes("--guest-root"));
  assert.match(p.files.runSh, /^mount_root_disk \|\| exit 125$/m);
  // Kept writes (-k) go to the host at once: the upper disk is mounted sync.
  assert.match(plan({ rootDisk: true, keep: true }).files.runSh, /^mount_root_disk sync \|\| exit 125$/m);
  const nopriv = planVm(
    toRunConfig({ qemu: true, nopriv: "/r", rootDisk: true }, ["true"], "/"),
    facts({ uid: 1000 }),
    "/t",
  );
  assert.equal(nopriv.rootDisk?.nopriv, true);
  // -t of a tmpdir kept by a root disk run: its upper disk again.
  assert.equal(
    plan({ tempdir: "/k", rootDisk: true }, { tempdir: "kept-disk" }).rootDisk?.upper,
    "/run/tsminc/tsminc-T/upper.ext4",
  );
  // The disks' paths are the same in every run: the snapshot key does not change with the rootfs.
  assert.equal(plan({ rootDisk: true }).snapshot?.key, plan({ rootDisk: true, rootdir: "/other" }).snapshot?.key);
});

test("root disk: off for a folder without --root-disk, with --no-root-disk, with --direct, without mkfs.erofs, or for a tmpdir kept over 9p", () => {
  for (const [raw, over, why] of [
    [{}, {}, /a folder, without --root-disk/],
    [{ rootDisk: true, direct: true }, {}, /--direct/],
    [
      { rootDisk: true },
      { rootDiskTools: { erofs: undefined, ext4: "/sbin/mkfs.ext4" } },
      /apt-get install erofs-utils/,
    ],
    [{ rootDisk: true, tempdir: "/k" }, { tempdir: "kept" }, /-t: a tmpdir kept with its writes in storage/],
  ] as const) {
    const p = plan(raw, over);
    assert.equal(p.rootDisk, undefined);
    assert.match(p.rootDiskOff ?? "", why);
    assert.ok(!p.qemu.args.includes("-drive") && !p.args.includes("--guest-root"));
    assert.doesNotMatch(p.files.runSh, /mount_root_disk/);
  }
  const image = (raw: RawRunOptions) =>
    planVm(toRunConfig({ qemu: true, image: "docker://127.0.0.1:5000/i:v1", ...raw }, ["true"], "/"), facts({}), "/T");
  assert.equal(image({ rootDisk: false }).rootDiskOff, "--no-root-disk");
  // An image's root has its disk by default, found by its folder (no walk).
  assert.equal(image({}).rootDisk?.image, true);
});

test("-t with a tmpdir whose writes are in an upper disk uses the disks, --root-disk given or not", () => {
  for (const raw of [{}, { rootDisk: true }, { rootDisk: false }] as const) {
    const kept = plan({ ...raw, tempdir: "/k" }, { tempdir: "kept-disk" });
    assert.ok(kept.rootDisk !== undefined, JSON.stringify(raw));
    assert.match(kept.files.runSh, /^mount_root_disk sync \|\| exit 125$/m);
  }
});

test("-k: the command printed to run again names the root as it was given, and a folder's disks", () => {
  const T = "/run/tsminc/tsminc-T";
  assert.deepEqual(plan({ keep: true }).rerun, ["tsminc", "--qemu", "-r", "/r", "-t", T]);
  assert.deepEqual(plan({ keep: true, rootDisk: true }).rerun, [
    "tsminc",
    "--qemu",
    "-r",
    "/r",
    "--root-disk",
    "-t",
    T,
  ]);
  assert.deepEqual(plan({ keep: true, arch: "x86_64" }).rerun, [
    "tsminc",
    "--qemu",
    "--arch",
    "x86_64",
    "-r",
    "/r",
    "-t",
    T,
  ]);
  const image = (raw: RawRunOptions) =>
    planVm(toRunConfig({ qemu: true, keep: true, ...raw }, ["true"], "/"), facts({}), T).rerun;
  assert.deepEqual(image({ image: "docker://127.0.0.1:5000/i:v1" }), [
    "tsminc",
    "--qemu",
    "-i",
    "docker://127.0.0.1:5000/i:v1",
    "-t",
    T,
  ]);
  assert.deepEqual(image({ nopriv: "/home/u/root" }), ["tsminc", "--qemu", "--nopriv", "/home/u/root", "-t", T]);
  assert.deepEqual(image({ nopriv: "oci-archive:/i.tar" }), [
    "tsminc",
    "--qemu",
    "--nopriv",
    "oci-archive:/i.tar",
    "-t",
    T,
  ]);
});

test("root disk with -t and its kept upper disk: the disks, but no warm start (the guest mounts the upper at boot)", () => {
  const kept = plan({ rootDisk: true, tempdir: "/k" }, { tempdir: "kept-disk" });
  assert.ok(kept.rootDisk !== undefined);
  assert.equal(kept.snapshot, undefined);
  assert.match(kept.snapshotOff ?? "", /^-t: its kept upper disk is mounted as the VM boots$/);
  // Any other root disk run resumes, its snapshot with a saved upper disk beside the state.
  const warm = plan({ rootDisk: true });
  assert.equal(warm.snapshotOff, undefined);
  assert.equal(warm.snapshot?.upper, warm.snapshot?.state.replace(/\.state$/, ".upper"));
});
