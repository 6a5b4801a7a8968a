// Builds an ermine kernel for one arch: start target + fragments, checked, then the boot image.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ARCHES, crossPrefix, type ArchName } from "../src/core/arch.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import { configure } from "./configure.js";
import { make, type BreedContext } from "./context.js";
import { describeMismatch, mergeFragments, type Fragment } from "./kconfig.js";
import { applyTweaks, type SourceTweak } from "./source-tweaks.js";

export interface SourceTree {
  readonly dir: string;
  readonly sha256: string;
}

export interface KernelMeta {
  readonly release: string;
  readonly start: string;
  readonly seconds: number;
  /** requested (non-base) options that olddefconfig changed */
  readonly dropped: readonly string[];
}

/**
 * One-line changes to Linux, made in the unpacked tree before the build.
 *
 * Free page reporting (virtio-balloon, base.config) hands freed memory back to the host, but Linux
 * waits 2 s before each pass and reports at most a sixteenth of a free list per pass: measured
 * here, a job that freed 1 GiB gave it back 256 MiB every 2 s, all of it only after 8 s. An ermine
 * is short-lived and its host wants the memory now; a pass every 0.1 s returns the 1 GiB within the
 * second. Pages freed and taken again within 0.1 s are still never reported.
 */
export const KERNEL_TWEAKS: readonly SourceTweak[] = [
  {
    file: "mm/page_reporting.c",
    from: "#define PAGE_REPORTING_DELAY\t(2 * HZ)",
    to: "#define PAGE_REPORTING_DELAY\t(HZ / 10)",
  },
];

/** The kernel image and final .config of `arch`, from the cache when its inputs are unchanged. */
export async function buildKernel(
  ctx: BreedContext,
  arch: ArchName,
  tree: SourceTree,
  fragments: readonly Fragment[],
  protectedFragments: ReadonlySet<string>,
  compiler: string,
): Promise<Artifact<KernelMeta>> {
  const info = ARCHES[arch];
  const merged = mergeFragments(fragments, "tinyconfig");
  const key = keyOf([
    "kernel",
    1,
    arch,
    tree.sha256,
    merged.start,
    [...merged.options].map(([s, r]) => [s, r.value]),
    compiler,
    KERNEL_TWEAKS,
  ]);
  return artifact(join(ctx.cacheDir, "artifacts"), `kernel-${arch}-${key}`, ctx.rebuild, async (out) => {
    const started = performance.now();
    const buildDir = join(ctx.cacheDir, "build", `linux-${arch}-${tree.sha256.slice(0, 12)}`);
    await mkdir(buildDir, { recursive: true });
    await applyTweaks(tree.dir, KERNEL_TWEAKS, "linux", "KERNEL_TWEAKS in breeder/kernel.ts");
    const makeArgs = [
      "-C",
      tree.dir,
      `O=${buildDir}`,
      `ARCH=${info.kernelArch}`,
      `CROSS_COMPILE=${crossPrefix(arch, ctx.hostNodeArch)}`,
    ];
    const dropped = await configure(ctx, {
      what: `kernel ${arch}`,
      makeArgs,
      buildDir,
      merged,
      protectedFragments,
      refresh: "olddefconfig",
    });
    if (dropped.length > 0) ctx.reporter.notice(`kernel ${arch}: ${dropped.map(describeMismatch).join("; ")}`);
    await make(ctx, `kernel ${arch}`, [...makeArgs, `-j${ctx.jobs}`, info.kernelTarget]);
    await copyFile(join(buildDir, info.kernelBuildPath), join(out, info.kernelImage));
    await copyFile(join(buildDir, ".config"), join(out, "config"));
    const release = (await readFile(join(buildDir, "include/config/kernel.release"), "utf8")).trim();
    return {
      release,
      start: merged.start,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      dropped: dropped.map(describeMismatch),
    };
  });
}
