// Builds the static busybox of one arch from breeder/busybox.config on top of allnoconfig.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { crossPrefix, type ArchName } from "../src/core/arch.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import { configure } from "./configure.js";
import { make, type BreedContext } from "./context.js";
import { mergeFragments, type Fragment } from "./kconfig.js";
import type { SourceTree } from "./kernel.js";

export interface BusyboxMeta {
  readonly seconds: number;
  /** applet paths relative to /, e.g. "bin/sh" */
  readonly applets: readonly string[];
}

export async function buildBusybox(
  ctx: BreedContext,
  arch: ArchName,
  tree: SourceTree,
  fragment: Fragment,
  compiler: string,
): Promise<Artifact<BusyboxMeta>> {
  const merged = mergeFragments([fragment], "allnoconfig");
  const key = keyOf(["busybox", 1, arch, tree.sha256, [...merged.options], compiler]);
  return artifact(join(ctx.cacheDir, "artifacts"), `busybox-${arch}-${key}`, ctx.rebuild, async (out) => {
    const started = performance.now();
    const buildDir = join(ctx.cacheDir, "build", `busybox-${arch}-${tree.sha256.slice(0, 12)}`);
    await mkdir(buildDir, { recursive: true });
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
    };
  });
}
