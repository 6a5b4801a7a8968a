// The qemu argv planner, one flag at a time, without booting anything.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelCmdline, planQemu, qemuOptValue, type BootSpec } from "../../src/core/qemu-argv.js";

const spec = (over: Partial<BootSpec> = {}): BootSpec => ({
  arch: "x86_64",
  accel: "tcg",
  kernel: "/img/bzImage",
  initrd: "/img/initramfs.cpio.gz",
  memMiB: 128,
  cpus: 1,
  console: "null",
  debug: false,
  tscKhz: 2600000,
  ...over,
});

/** the value following `flag` in args */
const after = (args: readonly string[], flag: string) => args[args.indexOf(flag) + 1];

test("each arch gets its qemu binary and machine from the arch table", () => {
  assert.equal(planQemu(spec()).file, "qemu-system-x86_64");
  assert.deepEqual(planQemu(spec()).args.slice(0, 2), ["-M", "microvm"]);
  assert.equal(planQemu(spec({ arch: "arm64" })).file, "qemu-system-aarch64");
  assert.deepEqual(planQemu(spec({ arch: "arm64" })).args.slice(0, 2), ["-M", "virt"]);
  assert.equal(planQemu(spec({ arch: "arm" })).file, "qemu-system-arm");
});

test("accel: tcg with the arch table's CPU (x86_64's keeps its APIC timer in idle), kvm with the host's, one -cpu", () => {
  assert.equal(after(planQemu(spec()).args, "-accel"), "tcg");
  assert.equal(after(planQemu(spec()).args, "-cpu"), "qemu64,+arat");
  assert.equal(after(planQemu(spec({ arch: "arm64" })).args, "-cpu"), "cortex-a57");
  assert.ok(!planQemu(spec({ arch: "arm" })).args.includes("-cpu"));
  for (const arch of ["x86_64", "arm64", "arm"] as const) {
    const { args } = planQemu(spec({ arch, accel: "kvm" }));
    assert.equal(after(args, "-cpu"), "host");
    assert.equal(args.filter((a) => a === "-cpu").length, 1, arch);
  }
});

test("no default devices, no user config, no reboot: a dying guest ends qemu", () => {
  const { args } = planQemu(spec());
  for (const flag of ["-nodefaults", "-no-user-config", "-no-reboot"]) assert.ok(args.includes(flag), flag);
  assert.match(after(args, "-append") ?? "", /\bpanic=-1\b/);
});

test("memory, cpus, kernel and initrd", () => {
  const { args } = planQemu(spec({ memMiB: 96, cpus: 2 }));
  assert.equal(after(args, "-m"), "96");
  assert.equal(after(args, "-smp"), "2");
  assert.equal(after(args, "-kernel"), "/img/bzImage");
  assert.equal(after(args, "-initrd"), "/img/initramfs.cpio.gz");
});

test("the console is the arch's serial tty, quiet unless debugging", () => {
  assert.deepEqual(kernelCmdline(spec()).slice(0, 4), ["console=ttyS0", "panic=-1", "quiet", "loglevel=0"]);
  assert.equal(kernelCmdline(spec({ arch: "arm" }))[0], "console=ttyAMA0");
  const debug = kernelCmdline(spec({ debug: true }));
  assert.ok(debug.includes("ermine.debug=1") && !debug.includes("quiet"));
});

test("tsc=reliable only for x86_64 under TCG (qemu's one counter; KVM hosts keep the kernel's own check)", () => {
  assert.ok(kernelCmdline(spec()).includes("tsc=reliable"));
  assert.ok(!kernelCmdline(spec({ accel: "kvm" })).includes("tsc=reliable"));
  assert.ok(!kernelCmdline(spec({ arch: "arm64" })).includes("tsc=reliable"));
});

test("tsc_early_khz only for x86_64 under TCG", () => {
  assert.ok(kernelCmdline(spec()).includes("tsc_early_khz=2600000"));
  assert.ok(!kernelCmdline(spec({ accel: "kvm" })).some((w) => w.startsWith("tsc_early_khz")));
  assert.ok(!kernelCmdline(spec({ arch: "arm64" })).some((w) => w.startsWith("tsc_early_khz")));
});

test("the share is a virtio-9p device on the arch's bus with mount_tag minc", () => {
  assert.ok(!planQemu(spec()).args.includes("-fsdev"));
  const { args } = planQemu(spec({ share: "/run/tsminc/a,b" }));
  assert.equal(after(args, "-fsdev"), "local,id=minc,path=/run/tsminc/a,,b,security_model=none,multidevs=remap");
  assert.equal(after(args, "-device"), "virtio-9p-device,fsdev=minc,mount_tag=minc");
});

test("console: a terminal passes Ctrl-C on as a byte, null discards, monitor keeps Ctrl-A", () => {
  const chardev = (c: BootSpec["console"]) => after(planQemu(spec({ console: c })).args, "-chardev");
  assert.equal(chardev("stdio"), "stdio,id=console,signal=off");
  assert.equal(chardev("null"), "null,id=console");
  assert.equal(after(planQemu(spec({ console: "monitor" })).args, "-serial"), "mon:stdio");
  assert.equal(after(planQemu(spec({ console: "null" })).args, "-serial"), "chardev:console");
});

test("virtio-serial ports: one bus device, then a socket chardev and a named port each", () => {
  const { args } = planQemu(spec({ ports: [{ name: "tsminc.stdout", socket: "/t/out.sock" }] }));
  const i = args.indexOf("virtio-serial-device");
  assert.deepEqual(args.slice(i - 1, i + 5), [
    "-device",
    "virtio-serial-device",
    "-chardev",
    "socket,id=port0,path=/t/out.sock",
    "-device",
    "virtserialport,chardev=port0,name=tsminc.stdout",
  ]);
  assert.ok(!planQemu(spec()).args.includes("virtio-serial-device"));
});

test("qemu option values double their commas", () => {
  assert.equal(qemuOptValue("a,b,,c"), "a,,b,,,,c");
});
