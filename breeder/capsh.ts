// Builds libcap's capsh for one arch: static, with /bin/sh as its shell (its default, /bin/bash, is not in ermine).
import { copyFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { crossPrefix, type ArchName } from "../src/core/arch.js";
import { extractTarball } from "../src/host/extract.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import { make, type BreedContext } from "./context.js";

export interface CapshMeta {
  readonly seconds: number;
}

export async function buildCapsh(
  ctx: BreedContext,
  arch: ArchName,
  tarball: { path: string; sha256: string },
  compiler: string,
): Promise<Artifact<CapshMeta>> {
  const prefix = crossPrefix(arch, ctx.hostNodeArch);
  // The recipe's shell unquotes CAPSH_SHELL once, leaving the C string "/bin/sh".
  // BUILD_CC: libcap's _makenames runs on the build host. DYNAMIC=no: capsh links libcap.a statically.
  const common = [`CROSS_COMPILE=${prefix}`, "BUILD_CC=gcc", "DYNAMIC=no", "GOLANG=no", "PAM_CAP=no"];
  const key = keyOf(["capsh", 1, arch, tarball.sha256, common, compiler]);
  return artifact(join(ctx.cacheDir, "artifacts"), `capsh-${arch}-${key}`, ctx.rebuild, async (out) => {
    const started = performance.now();
    // libcap builds in its source tree, so each arch gets a fresh copy.
    const tree = join(ctx.cacheDir, "build", `libcap-${arch}`);
    await extractTarball(ctx.runner, tarball.path, tree);
    await make(ctx, `libcap ${arch}`, ["-C", join(tree, "libcap"), ...common, "libcap.a"]);
    await make(ctx, `capsh ${arch}`, [
      "-C",
      join(tree, "progs"),
      ...common,
      `CAPSH_SHELL='-DSHELL="/bin/sh"'`,
      "capsh",
    ]);
    await copyFile(join(tree, "progs", "capsh"), join(out, "capsh"));
    const strip = await ctx.runner.run(`${prefix}strip`, [join(out, "capsh")], { log: ctx.log });
    if (strip.exitCode !== 0) throw new Error(`${prefix}strip capsh exited with ${strip.exitCode}`);
    await rm(tree, { recursive: true, force: true });
    return { seconds: Math.round((performance.now() - started) / 100) / 10 };
  });
}
