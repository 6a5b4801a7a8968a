// Builds nsrun (libexec/nsrun.c) for one arch: static, stripped, warnings as errors. Both modes start
// on the host with the host image's nsrun; it is not in the initramfs (the guest needs none of it).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { crossPrefix, type ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";
import { sha256Text } from "../src/host/hash.js";
import { packageRoot } from "../src/host/paths.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import type { BreedContext } from "./context.js";

export const NSRUN_SOURCE = join(packageRoot, "libexec", "nsrun.c");

export interface NsrunMeta {
  readonly sourceSha256: string;
}

/** The compiler's flags: the source must build clean under them on every arch. */
export const NSRUN_CFLAGS = ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11"];

export async function buildNsrun(ctx: BreedContext, arch: ArchName, compiler: string): Promise<Artifact<NsrunMeta>> {
  const prefix = crossPrefix(arch, ctx.hostNodeArch);
  const sourceSha256 = sha256Text(await readFile(NSRUN_SOURCE, "utf8"));
  const key = keyOf(["nsrun", 1, arch, sourceSha256, NSRUN_CFLAGS, compiler]);
  return artifact(join(ctx.cacheDir, "artifacts"), `nsrun-${arch}-${key}`, ctx.rebuild, async (out) => {
    const binary = join(out, "nsrun");
    for (const [program, args] of [
      [`${prefix}gcc`, [...NSRUN_CFLAGS, "-o", binary, NSRUN_SOURCE]],
      [`${prefix}strip`, [binary]],
    ] as const) {
      ctx.log.write(`\n$ ${program} ${args.join(" ")}\n`);
      const r = await ctx.runner.run(program, args, { log: ctx.log });
      if (r.exitCode !== 0) {
        throw new MincError("build", `nsrun for ${arch}: ${program} exited with ${r.exitCode}`, {
          hint: `the full log is ${ctx.log.path}`,
          details: ctx.log.tail(20),
        });
      }
    }
    return { sourceSha256 };
  });
}
