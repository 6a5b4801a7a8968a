// Test root filesystems, cached under ~/.cache/tsminc/rootfs: a busybox root made from the breeder's
// own busybox, and a Debian minbase made by debootstrap (foreign arches through qemu-user).
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
  chmodSync,
} from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { ARCHES, type ArchName } from "../../src/core/arch.js";
import { binfmtFor } from "../../src/core/binfmt.js";
import { findDebianMirror } from "../../src/core/apt-sources.js";
import { cacheDir, defaultImagesDir } from "../../src/host/paths.js";
import { probeBinfmt } from "../../src/host/binfmt.js";
import { readManifest } from "../../src/host/image-manifest.js";
import { which } from "../../src/host/which.js";
import { skipBecause } from "./skip.js";
import { TSMINC } from "./tsminc.js";
import type { TestContext } from "node:test";

/** A root with /bin/busybox, a link per applet, /etc/passwd and the usual empty folders. */
export function busyboxRootfs(arch: ArchName): string {
  const key = readManifest(join(defaultImagesDir, arch))?.cacheKeys.busybox;
  if (key === undefined) throw new Error(`no ${arch} image: breed it first`);
  const artifact = join(cacheDir(), "artifacts", key);
  const dir = join(cacheDir(), "rootfs", key);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "proc", "sys", "dev"])
    mkdirSync(join(tmp, d), { recursive: true });
  copyFileSync(join(artifact, "busybox"), join(tmp, "bin/busybox"));
  chmodSync(join(tmp, "bin/busybox"), 0o755);
  const { applets } = JSON.parse(readFileSync(join(artifact, "meta.json"), "utf8")) as { applets: string[] };
  for (const applet of applets) {
    if (applet === "bin/busybox") continue;
    symlinkSync("/bin/busybox", join(tmp, applet));
  }
  writeFileSync(join(tmp, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(tmp, "etc/group"), "root:x:0:\n");
  writeFileSync(join(tmp, "etc/hostname"), "busybox-rootfs\n");
  renameSync(tmp, dir);
  return dir;
}

/** Why this host cannot run `arch` programs without a VM, or undefined when binfmt_misc can. */
export function binfmtMissing(arch: ArchName): string | undefined {
  if (ARCHES[arch].nodeArch === process.arch) return undefined;
  const facts = probeBinfmt();
  if (!facts.mounted) return "binfmt_misc is not mounted (see scripts/install-deps.sh)";
  if (binfmtFor(arch, facts.entries) === undefined)
    return `no binfmt_misc handler for ${arch} (apt-get install qemu-user-static; see scripts/install-deps.sh)`;
  return undefined;
}

/**
 * Debian bookworm minbase for `arch`, or the reason it cannot be made here. A foreign arch gets
 * debootstrap's first stage on the host and its second stage in a tsminc ns-mode container on
 * the tree itself (--direct), whose programs run through qemu-user.
 */
export async function debianRootfs(arch: ArchName = "x86_64"): Promise<{ dir: string } | { missing: string }> {
  const { debianArch } = ARCHES[arch];
  const dir = join(cacheDir(), "rootfs", `debian-bookworm-minbase-${debianArch}`);
  if (existsSync(join(dir, "etc/debian_version"))) return { dir };
  if (which("debootstrap") === undefined)
    return { missing: "debootstrap is not installed (apt-get install debootstrap)" };
  const foreign = ARCHES[arch].nodeArch !== process.arch;
  const noBinfmt = foreign ? binfmtMissing(arch) : undefined;
  if (noBinfmt !== undefined) return { missing: noBinfmt };
  const sources = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]
    .filter(existsSync)
    .map((f) => ({ name: f, text: readFileSync(f, "utf8") }));
  const mirror = findDebianMirror(sources, "bookworm");
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(cacheDir(), "rootfs"), { recursive: true });
  const stage = async (file: string, args: readonly string[]) => {
    const r = await execa(file, args, { reject: false, all: true, stdin: "ignore" });
    if (r.exitCode !== 0) throw new Error(`${args.join(" ")} failed:\n${r.all.split("\n").slice(-20).join("\n")}`);
  };
  const first = ["--variant=minbase", `--arch=${debianArch}`, ...(foreign ? ["--foreign"] : [])];
  await stage("debootstrap", [...first, "bookworm", tmp, mirror.uri]);
  if (foreign) {
    // debootstrap mounts /proc and makes and opens device nodes: root powers, unconfined.
    await stage(process.execPath, [
      TSMINC,
      "--privileged",
      "-D",
      "--arch",
      arch,
      "-r",
      tmp,
      "/debootstrap/debootstrap",
      "--second-stage",
    ]);
  }
  renameSync(tmp, dir);
  return { dir };
}

/** The rootfs a test asked for; a missing Debian rootfs skips the test and says why. */
export function pickRootfs(
  t: TestContext,
  which: "busybox" | "debian",
  roots: { busybox: string; debian: { dir: string } | { missing: string } },
): string | undefined {
  if (which === "busybox") return roots.busybox;
  if ("missing" in roots.debian) {
    skipBecause(t, `no Debian rootfs: ${roots.debian.missing}`);
    return undefined;
  }
  return roots.debian.dir;
}

/** The Debian minbase of `arch` for a test, or undefined after skipping it with the reason. */
export async function debianRootfsOrSkip(t: TestContext, arch: ArchName): Promise<string | undefined> {
  const debian = await debianRootfs(arch);
  if ("dir" in debian) return debian.dir;
  skipBecause(t, `no Debian ${arch} rootfs: ${debian.missing}`);
  return undefined;
}
