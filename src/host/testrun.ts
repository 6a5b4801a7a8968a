// tsermine testrun: boots an image with no share, so its init opens the maintenance shell on this terminal.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ARCHES, lookupArch } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import { planQemu } from "../core/qemu-argv.js";
import { hostTscKhz, kvmUnusable } from "./probe.js";
import type { Runner } from "./runner.js";

export async function testrun(runner: Runner, imagesDir: string, archText: string, debug: boolean): Promise<number> {
  const arch = lookupArch(archText);
  if (arch === undefined) throw new MincError("usage", `unknown arch "${archText}"`, { hint: "use --arch x86_64|arm64|arm" });
  const dir = join(imagesDir, arch);
  if (!existsSync(join(dir, "manifest.json"))) {
    throw new MincError("image", `no ${arch} image in ${imagesDir}`, { hint: `run: tsermine breed --arch ${arch}` });
  }
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { kernelImage: string; initramfs: string };
  const tscKhz = hostTscKhz();
  const plan = planQemu({
    arch,
    accel: kvmUnusable(arch) === undefined ? "kvm" : "tcg",
    kernel: join(dir, manifest.kernelImage),
    initrd: join(dir, manifest.initramfs),
    memMiB: 128,
    cpus: 1,
    serial: "mon:stdio",
    debug,
    ...(tscKhz === undefined ? {} : { tscKhz }),
  });
  process.stderr.write(`tsermine: booting ${arch} (${ARCHES[arch].qemuBinary}); Ctrl-A X quits\n`);
  const r = await runner.run(plan.file, plan.args, { inherit: true });
  return r.exitCode;
}
