// Builds tsminc's static helpers from libexec/NAME.c for one arch: stripped, warnings as errors.
// nsrun is both modes' first process on the host (from the host's image); confine applies a
// container's confinement, in ns mode from the host's image and in the VM from the initramfs.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { crossPrefix, type ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";
import type { StaticLib } from "../src/core/image-licenses.js";
import { sha256Text } from "../src/host/hash.js";
import { packageRoot } from "../src/host/paths.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import type { BreedContext } from "./context.js";

export type HelperName = "nsrun" | "confine";

/** Each helper's sources in libexec/, and the headers they include (in the cache key too). */
const SOURCES: Readonly<Record<HelperName, readonly string[]>> = {
  nsrun: ["nsrun.c", "slirp.c", "console.c", "common.c"],
  confine: ["confine.c", "wake.c", "guard.c", "common.c"],
};
const HEADERS = ["common.h", "slirp.h", "console.h", "wake.h", "guard.h"];

const inLibexec = (file: string) => join(packageRoot, "libexec", file);

/** Every libexec/ file the helpers are built from, relative to the package (what an image's licenses list). */
export const HELPER_FILES: readonly string[] = [...new Set([...Object.values(SOURCES).flat(), ...HEADERS])]
  .sort()
  .map((f) => `libexec/${f}`);

export interface HelperMeta {
  readonly sourceSha256: string;
  /** the static libraries it was linked with (absent in artifacts built before tsermine recorded them) */
  readonly linkedWith?: readonly StaticLib[];
}

/** The compiler's flags: every helper must build clean under them on every arch. */
export const HELPER_CFLAGS = ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11"];

export async function buildHelper(
  ctx: BreedContext,
  arch: ArchName,
  name: HelperName,
  compiler: string,
  staticLibs: () => Promise<readonly StaticLib[]>,
): Promise<Artifact<HelperMeta>> {
  const prefix = crossPrefix(arch, ctx.hostNodeArch);
  const sources = SOURCES[name].map(inLibexec);
  const texts = await Promise.all([...sources, ...HEADERS.map(inLibexec)].map((f) => readFile(f, "utf8")));
  const sourceSha256 = sha256Text(texts.join("\0"));
  const key = keyOf([name, 1, arch, sourceSha256, HELPER_CFLAGS, compiler]);
  return artifact(join(ctx.cacheDir, "artifacts"), `${name}-${arch}-${key}`, ctx.rebuild, async (out) => {
    const binary = join(out, name);
    for (const [program, args] of [
      [`${prefix}gcc`, [...HELPER_CFLAGS, "-o", binary, ...sources]],
      [`${prefix}strip`, [binary]],
    ] as const) {
      ctx.log.write(`\n$ ${program} ${args.join(" ")}\n`);
      const r = await ctx.runner.run(program, args, { log: ctx.log });
      if (r.exitCode !== 0) {
        throw new MincError("build", `${name} for ${arch}: ${program} exited with ${r.exitCode}`, {
          hint: `the full log is ${ctx.log.path}`,
          details: ctx.log.tail(20),
        });
      }
    }
    return { sourceSha256, linkedWith: await staticLibs() };
  });
}
