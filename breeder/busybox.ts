// Builds the static busybox of one arch from breeder/busybox.config on top of allnoconfig.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { crossPrefix, type ArchName } from "../src/core/arch.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import type { StaticLib } from "../src/core/image-licenses.js";
import { configure } from "./configure.js";
import { make, type BreedContext } from "./context.js";
import { mergeFragments, type Fragment } from "./kconfig.js";
import type { SourceTree } from "./kernel.js";
import { applyTweaks, type SourceTweak } from "./source-tweaks.js";

export interface BusyboxMeta {
  readonly seconds: number;
  /** applet paths relative to /, e.g. "bin/sh" */
  readonly applets: readonly string[];
  /** the static libraries it was linked with (absent in artifacts built before tsermine recorded them) */
  readonly linkedWith?: readonly StaticLib[];
}

/**
 * One-line changes to busybox's applet declarations, made in the unpacked tree before the build.
 * mount becomes a NOEXEC applet, as umount already is: the shell forks and runs it without a second
 * exec of busybox. Under TCG an exec costs several milliseconds more than a fork, and a run makes
 * about fifteen mounts. It is safe in a fork of ash: mount's globals live in the common buffer, which
 * ash never writes, and the forms used here (-t TYPE, --bind, remount) never read its fs list.
 */
export const SOURCE_TWEAKS: readonly SourceTweak[] = [
  {
    file: "util-linux/mount.c",
    from: "//applet:IF_MOUNT(APPLET(mount, BB_DIR_BIN, IF_DESKTOP(BB_SUID_MAYBE) IF_NOT_DESKTOP(BB_SUID_DROP)))",
    to: "//applet:IF_MOUNT(APPLET_NOEXEC(mount, mount, BB_DIR_BIN, BB_SUID_DROP, mount))",
  },
];

export async function buildBusybox(
  ctx: BreedContext,
  arch: ArchName,
  tree: SourceTree,
  fragment: Fragment,
  compiler: string,
  staticLibs: () => Promise<readonly StaticLib[]>,
): Promise<Artifact<BusyboxMeta>> {
  const merged = mergeFragments([fragment], "allnoconfig");
  const key = keyOf(["busybox", 1, arch, tree.sha256, [...merged.options], compiler, SOURCE_TWEAKS]);
  return artifact(join(ctx.cacheDir, "artifacts"), `busybox-${arch}-${key}`, ctx.rebuild, async (out) => {
    const started = performance.now();
    const buildDir = join(ctx.cacheDir, "build", `busybox-${arch}-${tree.sha256.slice(0, 12)}`);
    await mkdir(buildDir, { recursive: true });
    await applyTweaks(tree.dir, SOURCE_TWEAKS, "busybox", "SOURCE_TWEAKS in breeder/busybox.ts");
    const makeArgs = ["-C", tree.dir, `O=${buildDir}`, `CROSS_COMPILE=${crossPrefix(arch, ctx.hostNodeArch)}`];
    // Every line of our fragment must survive: a dropped applet is a bug in busybox.config.
    await configure(ctx, {
      what: `busybox ${arch}`,
      makeArgs,
      buildDir,
      merged,
      protectedFragments: new Set([fragment.name]),
      refresh: "oldconfig",
    });
    await make(ctx, `busybox ${arch}`, [...makeArgs, `-j${ctx.jobs}`, "busybox", "busybox.links"]);
    await copyFile(join(buildDir, "busybox"), join(out, "busybox"));
    const links = await readFile(join(buildDir, "busybox.links"), "utf8");
    return {
      seconds: Math.round((performance.now() - started) / 100) / 10,
      applets: links
        .split("\n")
        .map((l) => l.trim().replace(/^\/+/, ""))
        .filter((l) => l !== ""),
      linkedWith: await staticLibs(),
    };
  });
}
