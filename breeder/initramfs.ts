// Packs the initramfs of one arch: a newc cpio made without root by the kernel's gen_init_cpio, gzipped.
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";
import { sha256File } from "../src/host/hash.js";
import { guestInitDir } from "../src/host/paths.js";
import { artifact, keyOf, type Artifact } from "./artifacts.js";
import type { BreedContext } from "./context.js";
import { initramfsList } from "./initramfs-list.js";
import type { SourceTree } from "./kernel.js";

export const INITRAMFS_FILE = "initramfs.cpio.gz";

/** The kernel's usr/gen_init_cpio, compiled for the build host once per kernel tree. */
async function genInitCpio(ctx: BreedContext, tree: SourceTree): Promise<string> {
  const tool = await artifact(
    join(ctx.cacheDir, "artifacts"),
    `gen_init_cpio-${tree.sha256.slice(0, 12)}`,
    false,
    async (out) => {
      const r = await ctx.runner.run(
        "gcc",
        ["-O2", "-o", join(out, "gen_init_cpio"), join(tree.dir, "usr/gen_init_cpio.c")],
        { log: ctx.log },
      );
      if (r.exitCode !== 0)
        throw new MincError("build", "cannot compile the kernel's usr/gen_init_cpio.c", {
          hint: `see ${ctx.log.path}`,
        });
      return {};
    },
  );
  return join(tool.dir, "gen_init_cpio");
}

/** guest-init/ as image files: `init` becomes /init, the rest goes to /lib/ermine/. */
async function guestFiles(dir: string): Promise<{ src: string; dest: string }[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith(".")).sort();
  return names.map((n) => ({ src: join(dir, n), dest: n === "init" ? "/init" : `/lib/ermine/${n}` }));
}

export interface InitramfsMeta {
  readonly size: number;
  readonly files: number;
}

export async function packInitramfs(
  ctx: BreedContext,
  arch: ArchName,
  tree: SourceTree,
  busybox: { dir: string; applets: readonly string[] },
  confine: string,
  initDir: string = guestInitDir,
): Promise<Artifact<InitramfsMeta>> {
  const list = initramfsList({
    busybox: join(busybox.dir, "busybox"),
    applets: busybox.applets,
    confine,
    guestFiles: await guestFiles(initDir),
  });
  // The key covers the list and the bytes of every file it names, so a guest-init edit only repacks.
  const files = list
    .split("\n")
    .filter((l) => l.startsWith("file "))
    .map((l) => l.split(" ")[2] ?? "");
  const key = keyOf(["initramfs", 1, arch, list, await Promise.all(files.map(sha256File))]);
  return artifact(join(ctx.cacheDir, "artifacts"), `initramfs-${arch}-${key}`, ctx.rebuild, async (out) => {
    const tool = await genInitCpio(ctx, tree);
    const listFile = join(out, "initramfs.list");
    const cpio = join(out, "initramfs.cpio");
    await writeFile(listFile, list);
    // -t 0: fixed mtimes, so the same inputs give the same bytes.
    const r = await ctx.runner.run(tool, ["-t", "0", listFile], { stdoutFile: cpio });
    if (r.exitCode !== 0) throw new MincError("build", `gen_init_cpio failed: ${r.stderr.trim()}`);
    const packed = gzipSync(await readFile(cpio), { level: 9 });
    await writeFile(join(out, INITRAMFS_FILE), packed);
    await rm(cpio);
    return { size: packed.length, files: list.split("\n").length - 1 };
  });
}
