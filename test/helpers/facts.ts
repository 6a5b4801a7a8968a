// A fixed HostFacts for planner tests: an x86_64 host without KVM, images for x86_64 and arm64.
import { ARCHES, type ArchName } from "../../src/core/arch.js";
import type { HostFacts, ImageFacts } from "../../src/core/host-facts.js";
import type { ImageManifest } from "../../src/core/image-manifest.js";

const file = (name: string) => ({ file: name, size: 1, sha256: "0".repeat(64) });
const source = (version: string) => ({ version, file: "f", sha256: "0".repeat(64), origin: "upstream", from: "u" });

/** A complete manifest, as tsermine breed writes it, of an image packed with guest code "g1". */
export function manifest(arch: ArchName): ImageManifest {
  const kernel = ARCHES[arch].kernelImage;
  return {
    arch,
    kernelImage: kernel,
    initramfs: "initramfs.cpio.gz",
    kernelRelease: "6.1.0",
    kernelConfig: { start: "tinyconfig", fragments: [], droppedOptions: [] },
    sources: { linux: source("6.1"), busybox: source("1.35.0") },
    compiler: "gcc",
    guestInit: "g1",
    outputs: Object.fromEntries(
      [kernel, "initramfs.cpio.gz", "config", "busybox", "confine", "nsrun"].map((n) => [n, file(n)]),
    ),
    buildSeconds: {},
    cacheKeys: {},
    created: "2026-01-01T00:00:00.000Z",
  };
}

const image = (arch: ArchName): ImageFacts => ({ dir: `/img/${arch}`, manifest: manifest(arch) });

export const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  uid: 0,
  hostname: "buildhost",
  hostArch: "x86_64",
  kvmProblem: { x86_64: "the CPU has no vmx/svm flag", arm64: "not the host's arch", arm: "not the host's arch" },
  tscKhz: 2600000,
  images: { x86_64: image("x86_64"), arm64: image("arm64") },
  imageDirs: ["/img"],
  qemuBinaries: new Set(["qemu-system-x86_64", "qemu-system-aarch64"]),
  qemuIds: {
    "qemu-system-x86_64": "/usr/bin/qemu-system-x86_64:1:1",
    "qemu-system-aarch64": "/usr/bin/qemu-system-aarch64:1:1",
  },
  snapshotDir: "/cache/snapshots",
  rootDiskTools: { erofs: "/usr/bin/mkfs.erofs", ext4: "/sbin/mkfs.ext4" },
  ioUring: true,
  rootDiskDir: "/cache/root-disks",
  hostSize: { cpus: 4, memMiB: 16384 },
  rootfs: "dir",
  rootfsArch: { arch: "x86_64" },
  bindSources: { "/srv/file": "file", "/srv/dir": "dir", "/nope": "missing" },
  tempdir: undefined,
  stdinTty: false,
  term: "xterm-256color",
  stdoutTty: false,
  ttySize: undefined,
  runtimeDir: "/run/tsminc",
  enterScript: "/pkg/guest-init/enter.sh",
  guestInit: "g1",
  cgroups: { v2: { mount: "/sys/fs/cgroup", controllers: ["cpu", "memory", "pids"] }, v1: {} },
  resolvers: { first: "192.0.2.53", upstream: [] },
  binfmt: undefined,
  ...over,
});
