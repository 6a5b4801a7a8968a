#!/usr/bin/env node
// tsermine: builds (breed), lists, cleans and test-boots ermine images. The only place its exit code is chosen.
import { existsSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { Command, CommanderError, Option } from "commander";
import { breed } from "../../breeder/breed.js";
import { toBuildConfig, type RawBreedOptions } from "../../breeder/build-config.js";
import { MincError } from "../core/errors.js";
import { cacheDir, defaultImagesDir } from "../host/paths.js";
import { spawnRunner } from "../host/spawn-runner.js";
import { which } from "../host/which.js";
import { cleanImages, listImages, listLicenses } from "../host/images.js";
import { testrun } from "../host/testrun.js";
import { formatError } from "./report.js";

const isDirectory = (p: string) => existsSync(p) && statSync(p).isDirectory();

function program(): Command {
  const prog = new Command("tsermine")
    .enablePositionalOptions()
    .description(
      "Build and manage ermine images: a Linux kernel plus an initramfs with busybox, confine and tsminc's guest init.",
    )
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => undefined });

  prog
    .command("breed")
    .description("build the ermine image(s) from source into <image folder>/<arch>/")
    .addOption(new Option("--arch <arch>", "x86_64, arm64, arm (or aliases) or all").default("x86_64"))
    .option(
      "--config <name|file>",
      "kernel config fragment, repeatable, later wins (default: smallconfig)",
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option("--sources <mode>", "auto | upstream | debian | DIR | URL", "auto")
    .option("--jobs <n>", "parallel make jobs (default: number of CPUs)")
    .option("--rebuild", "rebuild every step, ignoring cached results")
    .option("--out <dir>", `output folder (default: ${defaultImagesDir})`)
    .action(async (raw: RawBreedOptions) => {
      const cfg = toBuildConfig(raw, { cpus: cpus().length, defaultOutDir: defaultImagesDir, isDirectory });
      const started = performance.now();
      const images = await breed(cfg, {
        runner: spawnRunner,
        cacheDir: cacheDir(),
        out: process.stderr,
        hostNodeArch: process.arch,
        probe: { hasProgram: (p) => which(p) !== undefined, hasFile: existsSync },
      });
      for (const img of images) {
        const mib = (n: number) => (n / 1048576).toFixed(2);
        process.stdout.write(
          `${img.dir}: kernel ${mib(img.kernelSize)} MiB + initramfs ${mib(img.initramfsSize)} MiB = ${mib(img.kernelSize + img.initramfsSize)} MiB\n`,
        );
      }
      process.stderr.write(`tsermine: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });

  prog
    .command("list")
    .description("list the images with their versions and sizes")
    .option("--licenses", "show what each image holds: licenses, versions and the sha256 of its sources")
    .option("--out <dir>", "image folder", defaultImagesDir)
    .action((opts: { licenses?: boolean; out: string }) => {
      process.stdout.write(opts.licenses === true ? listLicenses(opts.out) : listImages(opts.out));
    });

  prog
    .command("clean")
    .description("remove build trees from the cache (--all: the whole cache, sources included, and the images)")
    .option("--all", "also remove downloaded sources, built artifacts and images/")
    .option("--out <dir>", "image folder", defaultImagesDir)
    .action(async (opts: { all?: boolean; out: string }) => {
      process.stdout.write(await cleanImages(cacheDir(), opts.out, opts.all ?? false));
    });

  prog
    .command("testrun")
    .description(
      "boot an image to its maintenance shell on this terminal (Ctrl-A X quits), or run one command in the guest",
    )
    .argument("[command...]", "run this in the guest (after --) and exit with its status")
    .option("--arch <arch>", "which image", "x86_64")
    .option("--out <dir>", "image folder", defaultImagesDir)
    .option("--debug", "show kernel and init messages")
    .passThroughOptions()
    .action(async (command: string[], opts: { arch: string; out: string; debug?: boolean }) => {
      const req = { imagesDir: opts.out, arch: opts.arch, debug: opts.debug ?? false, command };
      process.exitCode = await testrun(spawnRunner, req);
    });
  return prog;
}

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes("--debug");
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return; // --help, --version
      process.stderr.write(`tsermine: ${err.message.replace(/^error: /, "")}\ntsermine: hint: see tsermine --help\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(formatError("tsermine", err, debug));
    process.exitCode = err instanceof MincError && err.code === "usage" ? 2 : 1;
  }
}

await main(process.argv);
