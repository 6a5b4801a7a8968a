#!/usr/bin/env node
// tsminc: runs a command in a container, in ns mode (namespaces on the host) or in vm mode (--qemu:
// inside an ermine micro-VM). The only place its exit status is chosen: the command's own, or 125
// when tsminc itself failed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { toRunConfig, type RawRunOptions } from "../config/from-flags.js";
import { withImage } from "../core/container-process.js";
import { MincError } from "../core/errors.js";
import { EXIT } from "../core/exit-status.js";
import { runtimeDir } from "../host/probe.js";
import { rawArgvTail } from "../host/raw-argv.js";
import { formatError } from "./report.js";
import { runContainer } from "./run-container.js";
import { helpText, parseTsmincArgs } from "./tsminc-args.js";
import { hostArchOrFail, imagesCommand, pullCommand, rmiCommand, unpackImage } from "./tsminc-images.js";

/** The --env-file texts, read here so the flag front end stays pure. */
function envFiles(raw: RawRunOptions): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const name of raw.envFile ?? []) {
    try {
      texts[name] = readFileSync(name, "utf8");
    } catch (cause) {
      throw new MincError("usage", `--env-file ${name}: cannot read it`, { hint: "check the path", cause });
    }
  }
  return texts;
}

async function run(raw: RawRunOptions, command: string[]): Promise<void> {
  let config = toRunConfig(raw, command, process.cwd(), rawArgvTail(command.length), {
    env: process.env,
    envFiles: envFiles(raw),
  });
  if (config.image !== undefined) {
    const image = await unpackImage(config.image, config.arch ?? hostArchOrFail(), config.registry, false);
    config = withImage(config, image);
  }
  await runContainer(config);
}

/** tsminc gc: what killed runs left behind (snapshot saves too), images no reference needs, stale root disks. (A command named gc: tsminc -- gc.) */
async function gc(): Promise<void> {
  const [{ collectGarbage }, { probeCgroups }] = await Promise.all([
    import("../host/gc.js"),
    import("../host/cgroup.js"),
  ]);
  const done = await collectGarbage(runtimeDir(), probeCgroups());
  const [{ openImageStore }, { pruneImages }] = await Promise.all([
    import("../host/image-store.js"),
    import("../host/image-gc.js"),
  ]);
  done.push(...pruneImages(openImageStore()));
  const [{ snapshotGarbage }, { cacheDir }] = await Promise.all([
    import("../host/snapshot-store.js"),
    import("../host/paths.js"),
  ]);
  done.push(...(await snapshotGarbage(join(cacheDir(), "snapshots"))));
  const [{ rootDiskGarbage, rootDisksDir }, { which }, { spawnRunner }] = await Promise.all([
    import("../host/root-disk.js"),
    import("../host/which.js"),
    import("../host/spawn-runner.js"),
  ]);
  done.push(...(await rootDiskGarbage(rootDisksDir(cacheDir()), which("mkfs.erofs"), spawnRunner)));
  for (const line of done) process.stdout.write(`tsminc gc: ${line}\n`);
  process.stdout.write(`tsminc gc: ${done.length === 0 ? "nothing to clean" : `${done.length} cleaned`}\n`);
}

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes("--debug");
  try {
    const args = argv.slice(2);
    if (args.length === 1 && args[0] === "gc") {
      await gc();
      return;
    }
    // Image commands (a container command of that name: tsminc -- pull ...).
    const imageCommand = { pull: pullCommand, images: imagesCommand, rmi: rmiCommand }[args[0] ?? ""];
    if (imageCommand !== undefined) {
      await imageCommand(args.slice(1));
      return;
    }
    if (args[0] === "snapshot") {
      await (await import("./tsminc-snapshots.js")).snapshotCommand(args.slice(1));
      return;
    }
    const parsed = parseTsmincArgs(args);
    if ("help" in parsed) process.stdout.write(helpText());
    else await run(parsed.raw, parsed.command);
  } catch (err) {
    process.stderr.write(formatError("tsminc", err, debug));
    process.exitCode = EXIT.launcherFailed;
  }
}

// No top-level await: the bundle is CommonJS, which node starts sooner (scripts/bundle.mjs). main never
// rejects; nothing of ours may keep the process alive after the run (stdin, sockets): leave with the status.
void main(process.argv).then(() => process.exit(process.exitCode ?? 0));
