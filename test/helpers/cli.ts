// Runs the built CLIs as a user would, and boots built images under qemu for end-to-end tests.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ArchName } from "../../src/core/arch.js";
import { planQemu } from "../../src/core/qemu-argv.js";
import { defaultImagesDir, packageRoot } from "../../src/host/paths.js";
import { hostTscKhz } from "../../src/host/probe.js";

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

export async function tsermine(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const started = performance.now();
  const r = await execa(process.execPath, [join(packageRoot, "dist/src/cli/tsermine.js"), ...args], {
    reject: false,
    env,
    stdin: "ignore",
    stripFinalNewline: false,
  });
  return {
    exitCode: r.exitCode ?? 255,
    stdout: r.stdout,
    stderr: r.stderr,
    seconds: (performance.now() - started) / 1000,
  };
}

let bred: Promise<CliResult> | undefined;

/** Breeds all three smallconfig images once per test process (seconds when the cache is warm). */
export function breedAll(): Promise<CliResult> {
  bred ??= tsermine(["breed", "--arch", "all", "--config", "smallconfig"]).then((r) => {
    if (r.exitCode !== 0) throw new Error(`tsermine breed failed:\n${r.stderr}`);
    return r;
  });
  return bred;
}

export interface BootResult {
  readonly console: string;
  readonly exitcode: string | undefined;
  readonly qemuStatus: number;
}

/** Boots `arch`'s image under TCG with a share holding `runSh`; returns the console and the reported status. */
export async function bootWithRunSh(arch: ArchName, kernelImage: string, runSh: string): Promise<BootResult> {
  const share = mkdtempSync(join(tmpdir(), "tsminc-share-"));
  writeFileSync(join(share, "run.sh"), runSh);
  const tscKhz = hostTscKhz();
  const plan = planQemu({
    arch,
    accel: "tcg",
    kernel: join(defaultImagesDir, arch, kernelImage),
    initrd: join(defaultImagesDir, arch, "initramfs.cpio.gz"),
    memMiB: 128,
    cpus: 1,
    share,
    console: "stdio",
    debug: false,
    ...(tscKhz === undefined ? {} : { tscKhz }),
  });
  const r = await execa(plan.file, plan.args, {
    reject: false,
    stdin: "ignore",
    timeout: 120_000,
    stripFinalNewline: false,
  });
  let exitcode: string | undefined;
  try {
    exitcode = readFileSync(join(share, "exitcode"), "utf8").trim();
  } catch {
    exitcode = undefined;
  }
  return { console: r.stdout, exitcode, qemuStatus: r.exitCode ?? 255 };
}
