// tsermine breed: sources → kernel, busybox, confine, nsrun → initramfs → images/<arch>/ (with its licenses), each step cached by its inputs.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Writable } from "node:stream";
import { ARCHES, crossPrefix, type ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";
import type { SourceRecord } from "../src/core/image-manifest.js";
import { extractTarball } from "../src/host/extract.js";
import { sha256Text } from "../src/host/hash.js";
import { guestInitHash } from "../src/host/guest-init-hash.js";
import { busyboxConfigFile, guestInitDir, kernelConfigDir } from "../src/host/paths.js";
import type { Runner } from "../src/host/runner.js";
import type { BuildConfig } from "./build-config.js";
import { buildBusybox } from "./busybox.js";
import { BuildLog, type BreedContext } from "./context.js";
import { INITRAMFS_FILE, packInitramfs } from "./initramfs.js";
import { parseFragment, type Fragment } from "./kconfig.js";
import { buildKernel, type SourceTree } from "./kernel.js";
import { buildHelper } from "./helpers.js";
import { licenseFiles } from "./licenses.js";
import { writeImage } from "./output.js";
import { createReporter } from "./progress.js";
import { acquireSources, type AcquiredSource, type AcquiredSources } from "./sources.js";
import { lazyStaticLibs } from "./static-libs.js";
import { checkRequirements, type ToolProbe } from "./toolchain.js";

export interface BreedDeps {
  readonly runner: Runner;
  readonly cacheDir: string;
  /** where progress lines go (stderr) */
  readonly out: Writable;
  readonly hostNodeArch: string;
  readonly probe: ToolProbe;
  /** the guest-init folder packed into the initramfs (default: the package's guest-init/) */
  readonly guestInitDir?: string;
}

export interface BredImage {
  readonly arch: ArchName;
  readonly dir: string;
  readonly kernelSize: number;
  readonly initramfsSize: number;
}

const BASE = "base.config";

/** A --config value: a name in kernel-configs/ (with or without .config) or a path. */
async function loadFragment(ref: string): Promise<Fragment> {
  const named = join(kernelConfigDir, ref.endsWith(".config") ? ref : `${ref}.config`);
  const path = !ref.includes("/") && existsSync(named) ? named : ref;
  if (!existsSync(path)) {
    throw new MincError("usage", `no kernel config "${ref}": not a name in kernel-configs/ and not a file`, {
      hint: "use --config smallconfig|defconfig or a path to a fragment",
    });
  }
  return parseFragment(path === named ? basename(named) : ref, await readFile(path, "utf8"));
}

async function takeLock(cacheDir: string): Promise<() => Promise<void>> {
  const lock = join(cacheDir, "breed.lock");
  const holder = Number(await readFile(lock, "utf8").catch(() => "0"));
  if (holder > 0 && holder !== process.pid) {
    let alive = true;
    try {
      process.kill(holder, 0);
    } catch {
      alive = false;
    }
    if (alive)
      throw new MincError("build", `another tsermine breed (pid ${holder}) is using ${cacheDir}`, {
        hint: "wait for it to finish",
      });
  }
  await writeFile(lock, String(process.pid));
  return () => rm(lock, { force: true });
}

async function unpacked(ctx: BreedContext, source: AcquiredSource): Promise<SourceTree> {
  const dir = join(ctx.cacheDir, "src", `${source.name}-${source.sha256.slice(0, 12)}`);
  await ctx.reporter.step(`unpack ${source.name} ${source.version}`, async () => {
    if (existsSync(dir)) return { value: undefined, cached: true };
    await mkdir(join(ctx.cacheDir, "src"), { recursive: true });
    await extractTarball(ctx.runner, source.path, dir);
    return { value: undefined, cached: false };
  });
  return { dir, sha256: source.sha256 };
}

async function compilerId(ctx: BreedContext, arch: ArchName): Promise<string> {
  const gcc = `${crossPrefix(arch, ctx.hostNodeArch)}gcc`;
  const r = await ctx.runner.run(gcc, ["--version"]);
  return r.stdout.split("\n")[0] ?? gcc;
}

function describeSource(s: AcquiredSource): SourceRecord {
  return { version: s.version, file: basename(s.path), sha256: s.sha256, origin: s.origin, from: s.from };
}

async function breedArch(
  ctx: BreedContext,
  cfg: BuildConfig,
  arch: ArchName,
  sources: AcquiredSources,
  trees: { linux: SourceTree; busybox: SourceTree },
  userFragments: readonly Fragment[],
  initDir: string,
): Promise<BredImage> {
  const info = ARCHES[arch];
  const compiler = await compilerId(ctx, arch);
  const archFragment = parseFragment(`${arch}.config`, await readFile(join(kernelConfigDir, `${arch}.config`), "utf8"));
  const base = parseFragment(BASE, await readFile(join(kernelConfigDir, BASE), "utf8"));
  const fragments = [base, archFragment, ...userFragments];
  const kernel = await ctx.reporter.step(`${arch}: kernel`, async () => {
    const a = await buildKernel(ctx, arch, trees.linux, fragments, new Set([base.name, archFragment.name]), compiler);
    return { value: a, cached: a.cached, note: a.meta.release };
  });
  const bbFragment = parseFragment("busybox.config", await readFile(busyboxConfigFile, "utf8"));
  // glibc and libgcc as gcc links them: each program built records them, for the image's licenses.
  const staticLibs = lazyStaticLibs(ctx, arch);
  const busybox = await ctx.reporter.step(`${arch}: busybox`, async () => {
    const a = await buildBusybox(ctx, arch, trees.busybox, bbFragment, compiler, staticLibs);
    return { value: a, cached: a.cached, note: `${a.meta.applets.length} applets` };
  });
  const confine = await ctx.reporter.step(`${arch}: confine`, async () => {
    const a = await buildHelper(ctx, arch, "confine", compiler, staticLibs);
    return { value: a, cached: a.cached };
  });
  const nsrun = await ctx.reporter.step(`${arch}: nsrun`, async () => {
    const a = await buildHelper(ctx, arch, "nsrun", compiler, staticLibs);
    return { value: a, cached: a.cached };
  });
  const initramfs = await ctx.reporter.step(`${arch}: initramfs`, async () => {
    const a = await packInitramfs(
      ctx,
      arch,
      trees.linux,
      { dir: busybox.dir, applets: busybox.meta.applets },
      join(confine.dir, "confine"),
      initDir,
    );
    return { value: a, cached: a.cached, note: `${(a.meta.size / 1048576).toFixed(2)} MiB` };
  });
  const dir = join(cfg.outDir, arch);
  const sourceRecords = { linux: describeSource(sources.linux), busybox: describeSource(sources.busybox) };
  let sizes = { kernel: 0, initramfs: 0 };
  await ctx.reporter.step(`${arch}: image`, async () => {
    const licenses = await licenseFiles({
      arch,
      kernelImage: info.kernelImage,
      initramfs: INITRAMFS_FILE,
      sources: sourceRecords,
      linuxTree: trees.linux.dir,
      initDir,
      programs: [
        { name: "busybox", in: ["busybox", INITRAMFS_FILE], linkedWith: busybox.meta.linkedWith },
        { name: "confine", in: ["confine", INITRAMFS_FILE], linkedWith: confine.meta.linkedWith },
        { name: "nsrun", in: ["nsrun"], linkedWith: nsrun.meta.linkedWith },
      ],
      staticLibs,
    });
    await writeImage(
      dir,
      {
        [info.kernelImage]: join(kernel.dir, info.kernelImage),
        [INITRAMFS_FILE]: join(initramfs.dir, INITRAMFS_FILE),
        config: join(kernel.dir, "config"),
        // ns mode runs the same container entry with these static tools (no host libc after pivot_root).
        busybox: join(busybox.dir, "busybox"),
        confine: join(confine.dir, "confine"),
        // ...and starts with this one, which makes the namespaces and waits for the container's init.
        nsrun: join(nsrun.dir, "nsrun"),
      },
      // LICENSES.json and the license texts: what is inside, under which licenses, from which sources.
      licenses,
      (outputs) => {
        sizes = { kernel: outputs[info.kernelImage]?.size ?? 0, initramfs: outputs[INITRAMFS_FILE]?.size ?? 0 };
        return {
          arch,
          kernelImage: info.kernelImage,
          initramfs: INITRAMFS_FILE,
          kernelRelease: kernel.meta.release,
          kernelConfig: {
            start: kernel.meta.start,
            fragments: fragments.map((f) => ({ name: f.name, options: f.options.size })),
            droppedOptions: kernel.meta.dropped,
          },
          sources: sourceRecords,
          compiler,
          // tsminc refuses to boot an image whose guest code is not its own.
          guestInit: guestInitHash(initDir),
          outputs,
          buildSeconds: { kernel: kernel.meta.seconds, busybox: busybox.meta.seconds },
          cacheKeys: {
            kernel: basename(kernel.dir),
            busybox: basename(busybox.dir),
            confine: basename(confine.dir),
            nsrun: basename(nsrun.dir),
            initramfs: basename(initramfs.dir),
          },
          created: new Date().toISOString(),
        };
      },
    );
    return { value: undefined, cached: false, note: dir };
  });
  return { arch, dir, kernelSize: sizes.kernel, initramfsSize: sizes.initramfs };
}

export async function breed(cfg: BuildConfig, deps: BreedDeps): Promise<BredImage[]> {
  checkRequirements(cfg.arches, deps.hostNodeArch, cfg.sources.kind === "debian", deps.probe);
  const userFragments = await Promise.all(cfg.configs.map(loadFragment));
  await mkdir(join(deps.cacheDir, "logs"), { recursive: true });
  const release = await takeLock(deps.cacheDir);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const log = new BuildLog(join(deps.cacheDir, "logs", `breed-${stamp}.log`));
  const reporter = createReporter(deps.out, { estimatesFile: join(deps.cacheDir, "build-estimates.json") });
  const ctx: BreedContext = { ...deps, jobs: cfg.jobs, rebuild: cfg.rebuild, reporter, log };
  try {
    log.write(
      `tsermine breed ${JSON.stringify(cfg)} (configs ${sha256Text(JSON.stringify(userFragments.map((f) => [...f.options])))})\n`,
    );
    const sources = await reporter.step("sources", async () => {
      const s = await acquireSources(
        { runner: deps.runner, cacheDir: deps.cacheDir, log, notice: reporter.notice, progress: reporter.progress },
        cfg.sources,
      );
      const all = Object.values(s);
      return { value: s, cached: all.every((x) => x.cached), note: [...new Set(all.map((x) => x.origin))].join("+") };
    });
    const trees = { linux: await unpacked(ctx, sources.linux), busybox: await unpacked(ctx, sources.busybox) };
    const images = [];
    for (const arch of cfg.arches)
      images.push(await breedArch(ctx, cfg, arch, sources, trees, userFragments, deps.guestInitDir ?? guestInitDir));
    return images;
  } finally {
    log.close();
    await release();
  }
}
