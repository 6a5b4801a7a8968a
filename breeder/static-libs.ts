// The static libraries gcc links into busybox, confine and nsrun (glibc, libgcc) as this host has
// them: version, the archive's sha256 and the Debian package it came from, for the image's LICENSES.json.
import { realpath } from "node:fs/promises";
import { crossPrefix, type ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";
import type { StaticLib } from "../src/core/image-licenses.js";
import { sha256File } from "../src/host/hash.js";
import type { Runner } from "../src/host/runner.js";
import type { BreedContext } from "./context.js";

/** `#define NAME VALUE` lines (gcc -dM -E) → the values of __GLIBC__ and __GLIBC_MINOR__ as "2.36". */
export function glibcVersion(macros: string): string | undefined {
  const value = (name: string) => new RegExp(`^#define ${name} (\\d+)$`, "m").exec(macros)?.[1];
  const [major, minor] = [value("__GLIBC__"), value("__GLIBC_MINOR__")];
  return major === undefined || minor === undefined ? undefined : `${major}.${minor}`;
}

/** dpkg-query -S output ("libc6-dev:amd64: /usr/lib/.../libc.a") → the package, or undefined. */
export function dpkgOwner(output: string): string | undefined {
  return /^([^\s:,]+(?::[a-z0-9]+)?): \//.exec(output)?.[1];
}

async function ask(runner: Runner, program: string, args: readonly string[]): Promise<string> {
  const r = await runner.run(program, args);
  if (r.exitCode !== 0) {
    throw new MincError("build", `${program} ${args.join(" ")} exited with ${r.exitCode}`, {
      hint: "check the toolchain the build uses (gcc and its static libc)",
      details: r.stderr.split("\n").slice(-5),
    });
  }
  return r.stdout.trim();
}

/** The Debian package holding `file` and its source package, or a note that the host's toolchain is not dpkg's. */
async function debianOrigin(runner: Runner, file: string): Promise<string> {
  try {
    const owner = dpkgOwner((await runner.run("dpkg-query", ["-S", file])).stdout);
    if (owner === undefined) return "the host's toolchain (no Debian package owns it)";
    const fields = "${Version}\t${source:Package}\t${source:Version}";
    const [version, source, sourceVersion] = (await ask(runner, "dpkg-query", ["-W", `-f=${fields}`, owner])).split(
      "\t",
    );
    return `debian:${owner}=${version ?? "?"}, source package ${source ?? "?"}=${sourceVersion ?? "?"}`;
  } catch (err) {
    if (err instanceof MincError && err.code === "missing-tool") return "the host's toolchain (no dpkg-query here)";
    throw err;
  }
}

/** glibc and libgcc as `arch`'s gcc links them with -static. */
export async function probeStaticLibs(ctx: BreedContext, arch: ArchName): Promise<StaticLib[]> {
  const gcc = `${crossPrefix(arch, ctx.hostNodeArch)}gcc`;
  const archive = async (flag: string) => {
    const path = await ask(ctx.runner, gcc, [flag]);
    if (!path.startsWith("/")) {
      throw new MincError("missing-tool", `${gcc} ${flag} finds no static library (it says ${JSON.stringify(path)})`, {
        hint: "install the static C library the build needs (see tsermine breed's requirements)",
      });
    }
    return realpath(path);
  };
  const libc = await archive("-print-file-name=libc.a");
  const libgcc = await archive("-print-libgcc-file-name");
  const macros = await ask(ctx.runner, gcc, ["-dM", "-E", "-include", "features.h", "-x", "c", "/dev/null"]);
  const gccVersion = await ask(ctx.runner, gcc, ["-dumpfullversion"]);
  const source = async (file: string) => ({
    file,
    sha256: await sha256File(file),
    from: await debianOrigin(ctx.runner, file),
  });
  return [
    { name: "glibc", version: glibcVersion(macros) ?? "unknown", source: await source(libc) },
    { name: "libgcc", version: gccVersion, source: await source(libgcc) },
  ];
}

/** probeStaticLibs once, on first use: a breed whose programs are all cached and recorded never asks gcc. */
export function lazyStaticLibs(ctx: BreedContext, arch: ArchName): () => Promise<StaticLib[]> {
  let probed: Promise<StaticLib[]> | undefined;
  return () => (probed ??= probeStaticLibs(ctx, arch));
}
