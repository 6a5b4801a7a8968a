// A fixed HostFacts for planner tests: an x86_64 host without KVM, images for x86_64 and arm64.
import type { HostFacts } from "../../src/core/launch-plan.js";

export const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  uid: 0,
  hostname: "buildhost",
  hostArch: "x86_64",
  kvmProblem: { x86_64: "the CPU has no vmx/svm flag", arm64: "not the host's arch", arm: "not the host's arch" },
  tscKhz: 2600000,
  images: {
    x86_64: { dir: "/img/x86_64", kernel: "bzImage", initramfs: "initramfs.cpio.gz", guestInit: "g1", nsrun: true },
    arm64: { dir: "/img/arm64", kernel: "Image", initramfs: "initramfs.cpio.gz", guestInit: "g1", nsrun: true },
  },
  imageDirs: ["/img"],
  qemuBinaries: new Set(["qemu-system-x86_64", "qemu-system-aarch64"]),
  rootfs: "dir",
  rootfsArch: { arch: "x86_64" },
  bindSources: { "/srv/file": "file", "/srv/dir": "dir", "/nope": "missing" },
  tempdir: undefined,
  stdinTty: false,
  term: "xterm-256color",
  stdoutTty: false,
  ttySize: undefined,
  runtimeDir: "/run/tsminc",
  prepareScript: "/pkg/libexec/prepare-root.sh",
  enterScript: "/pkg/guest-init/enter.sh",
  guestInit: "g1",
  cgroups: { v2: { mount: "/sys/fs/cgroup", controllers: ["cpu", "memory", "pids"] }, v1: {} },
  binfmt: undefined,
  ...over,
});
