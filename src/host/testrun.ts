// tsermine testrun: boots an image on this terminal: its maintenance shell, or one command run by its init.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHES, lookupArch } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import { planQemu } from "../core/qemu-argv.js";
import { shellJoin } from "../core/shell-quote.js";
import { readManifest } from "./image-manifest.js";
import { hostTscKhz, kvmUnusable } from "./probe.js";
import type { Runner } from "./runner.js";

export interface TestrunRequest {
  readonly imagesDir: string;
  readonly arch: string;
  readonly debug: boolean;
  /** run this in the guest (not in a container) instead of opening the maintenance shell */
  readonly command: readonly string[];
}

/** Boots the image; resolves with qemu's status, or with the command's status when one was given (255: none came back). */
export async function testrun(runner: Runner, req: TestrunRequest): Promise<number> {
  const arch = lookupArch(req.arch);
  if (arch === undefined)
    throw new MincError("usage", `unknown arch "${req.arch}"`, { hint: "use --arch x86_64|arm64|arm" });
  const dir = join(req.imagesDir, arch);
  const manifest = readManifest(dir);
  if (manifest === undefined) {
    throw new MincError("image", `no ${arch} image in ${req.imagesDir}`, {
      hint: `run: tsermine breed --arch ${arch}`,
    });
  }
  const share = req.command.length > 0 ? await mkdtemp(join(tmpdir(), "tsermine-testrun-")) : undefined;
  try {
    if (share !== undefined) await writeFile(join(share, "run.sh"), `${shellJoin(req.command)}\n`);
    const tscKhz = hostTscKhz();
    const plan = planQemu({
      arch,
      accel: kvmUnusable(arch) === undefined ? "kvm" : "tcg",
      kernel: join(dir, manifest.kernelImage),
      initrd: join(dir, manifest.initramfs),
      memMiB: 128,
      cpus: 1,
      console: share === undefined ? "monitor" : "stdio",
      debug: req.debug,
      ...(share === undefined ? {} : { share }),
      ...(tscKhz === undefined ? {} : { tscKhz }),
    });
    if (share === undefined)
      process.stderr.write(`tsermine: booting ${arch} (${ARCHES[arch].qemuBinary}); Ctrl-A X quits\n`);
    const r = await runner.run(plan.file, plan.args, { stdio: ["inherit", "inherit", "inherit"] });
    if (share === undefined) return r.exitCode;
    const status = await readFile(join(share, "exitcode"), "utf8").catch(() => undefined);
    return status === undefined ? 255 : Number(status.trim());
  } finally {
    if (share !== undefined) await rm(share, { recursive: true, force: true });
  }
}
