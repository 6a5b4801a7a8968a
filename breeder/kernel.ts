// Builds an ermine kernel for one arch: start target + fragments, checked, then the boot image.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ARCHES, crossPrefix, type ArchName } from "../src/core/arch.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import { configure } from "./configure.js";
import { make, type BreedContext } from "./context.js";
import { describeMismatch, mergeFragments, type Fragment } from "./kconfig.js";

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
  ]);
  return artifact(join(ctx.cacheDir, "artifacts"), `kernel-${arch}-${key}`, ctx.rebuild, async (out) => {
    const started = performance.now();
    const buildDir = join(ctx.cacheDir, "build", `linux-${arch}-${tree.sha256.slice(0, 12)}`);
    await mkdir(buildDir, { recursive: true });
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
