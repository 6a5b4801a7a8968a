// Gets the pinned source tarballs, verified, from the cache, upstream, a mirror, a folder or Debian's archive.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { MincError } from "../src/core/errors.js";
import { aptDownload } from "../src/host/debian-apt.js";
import { downloadVerified, type DownloadProgress } from "../src/host/download.js";
import { extractFromDeb } from "../src/host/extract.js";
import { sha256File } from "../src/host/hash.js";
import type { Runner } from "../src/host/runner.js";
import { PINS, SOURCE_NAMES, type SourceName, type SourcePin } from "./pins.js";

export type SourcesMode =
  | { readonly kind: "auto" }
  | { readonly kind: "upstream" }
  | { readonly kind: "debian" }
  | { readonly kind: "dir"; readonly dir: string }
  | { readonly kind: "url"; readonly url: string };

export type Origin = "upstream" | "mirror" | "dir" | "debian";

export interface AcquiredSource {
  readonly name: SourceName;
  readonly version: string;
  /** the verified tarball */
  readonly path: string;
  readonly sha256: string;
  readonly origin: Origin;
  /** the URL, folder or Debian package it came from */
  readonly from: string;
  /** true when it was already in the cache */
  readonly cached: boolean;
}

export type AcquiredSources = Readonly<Record<SourceName, AcquiredSource>>;

export interface SourcesContext {
  readonly runner: Runner;
  readonly cacheDir: string;
  readonly log: Writable;
  /** a one-line notice for the user */
  readonly notice: (line: string) => void;
  readonly progress: (name: string) => DownloadProgress;
  readonly pins?: Readonly<Record<SourceName, SourcePin>>;
}

interface Sidecar {
  readonly origin: Origin;
  readonly from: string;
  readonly version: string;
  readonly sha256: string;
}

const sidecarOf = (path: string) => `${path}.origin.json`;

async function record(path: string, sidecar: Sidecar): Promise<Sidecar & { path: string; cached: false }> {
  await writeFile(sidecarOf(path), JSON.stringify(sidecar, null, 2) + "\n");
  return { path, ...sidecar, cached: false };
}

/** A cached tarball whose bytes still hash to what its sidecar (or pin) says. */
async function fromCache(path: string, expectedSha?: string): Promise<Sidecar | undefined> {
  if (!existsSync(path) || !existsSync(sidecarOf(path))) return undefined;
  const sidecar = JSON.parse(await readFile(sidecarOf(path), "utf8")) as Sidecar;
  const sha = await sha256File(path);
  if (sha !== (expectedSha ?? sidecar.sha256)) return undefined;
  return sidecar;
}

/** The newest cached Debian kernel tarball for this pin, if any. */
async function cachedDebianKernel(
  dir: string,
  pin: SourcePin,
): Promise<{ path: string; sidecar: Sidecar } | undefined> {
  if (pin.debian.kind !== "binary") return undefined;
  const pkg = pin.debian.package;
  const names = (await readdir(dir)).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith(".tar.xz"));
  for (const name of names.sort().reverse()) {
    const sidecar = await fromCache(join(dir, name));
    if (sidecar) return { path: join(dir, name), sidecar };
  }
  return undefined;
}

async function fromDir(pin: SourcePin, dir: string): Promise<Sidecar> {
  const path = join(dir, pin.file);
  if (!existsSync(path)) {
    throw new MincError("source", `--sources ${dir} has no ${pin.file}`, {
      hint: `put ${pin.file} (sha256 ${pin.sha256}) there`,
    });
  }
  const sha = await sha256File(path);
  if (sha !== pin.sha256) {
    throw new MincError("checksum", `checksum mismatch for ${path}: got ${sha}, expected ${pin.sha256}`, {
      hint: "replace it with upstream's file; nothing was extracted",
    });
  }
  return { origin: "dir", from: path, version: pin.version, sha256: sha };
}

async function download(ctx: SourcesContext, pin: SourcePin, url: string, origin: Origin, dest: string) {
  ctx.log.write(`download ${url}\n`);
  await downloadVerified({ url, dest, sha256: pin.sha256, onProgress: ctx.progress(pin.file) });
  return record(dest, { origin, from: url, version: pin.version, sha256: pin.sha256 });
}

/** Fetches everything that must come from Debian in one private apt run. */
async function fromDebian(
  ctx: SourcesContext,
  pins: readonly SourcePin[],
  dir: string,
): Promise<Map<SourceName, Sidecar & { path: string }>> {
  const got = new Map<SourceName, Sidecar & { path: string }>();
  const wanted = [];
  for (const pin of pins) {
    const cached = await cachedDebianKernel(dir, pin);
    if (cached) got.set(pin.name, { ...cached.sidecar, path: cached.path });
    else wanted.push(pin);
  }
  if (wanted.length === 0) return got;
  const sourcePackages = wanted.flatMap((p) => (p.debian.kind === "orig" ? [p.debian.sourcePackage] : []));
  const binaryPackages = wanted.flatMap((p) => (p.debian.kind === "binary" ? [p.debian.package] : []));
  ctx.log.write(`apt: source ${sourcePackages.join(" ")}; binary ${binaryPackages.join(" ")}\n`);
  const out = await aptDownload(ctx.runner, join(ctx.cacheDir, "apt"), { sourcePackages, binaryPackages }, ctx.log);
  const files = await readdir(out);
  for (const pin of wanted) {
    if (pin.debian.kind === "orig") {
      const orig = pin.debian.origFile;
      if (!files.includes(orig)) {
        const found = files.filter((f) => f.includes(".orig.tar")).join(", ") || "nothing";
        throw new MincError("source", `Debian's ${pin.debian.sourcePackage} has no ${orig} (found ${found})`, {
          hint: `Debian moved to another ${pin.name} version; use --sources upstream|DIR|URL for ${pin.file}`,
        });
      }
      const sha = await sha256File(join(out, orig));
      if (sha !== pin.sha256) {
        throw new MincError("checksum", `Debian's ${orig} is not upstream's ${pin.file}: sha256 ${sha}`, {
          hint: "nothing was extracted; report this mismatch",
        });
      }
      const dest = join(dir, pin.file);
      await rename(join(out, orig), dest);
      const sidecar = {
        origin: "debian" as const,
        from: `debian:${pin.debian.sourcePackage}/${orig}`,
        version: pin.version,
        sha256: sha,
      };
      await record(dest, sidecar);
      got.set(pin.name, { ...sidecar, path: dest });
    } else {
      const pkg = pin.debian.package;
      const deb = files.find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
      if (deb === undefined) throw new MincError("source", `apt-get download ${pkg} produced no .deb`);
      const debVersion = deb.split("_")[1] ?? "unknown";
      const dest = join(dir, `${pkg}_${debVersion}.tar.xz`);
      await extractFromDeb(ctx.runner, join(out, deb), pin.debian.tarballInside, dest);
      const sidecar = {
        origin: "debian" as const,
        from: `debian:${pkg}=${debVersion}`,
        version: debVersion.replace(/-[^-]*$/, ""),
        sha256: await sha256File(dest),
      };
      await record(dest, sidecar);
      got.set(pin.name, { ...sidecar, path: dest });
    }
  }
  return got;
}

/** Every source tarball, verified, according to `mode`. Nothing unverified is ever returned. */
export async function acquireSources(ctx: SourcesContext, mode: SourcesMode): Promise<AcquiredSources> {
  const pins = ctx.pins ?? PINS;
  const dir = join(ctx.cacheDir, "sources");
  await mkdir(dir, { recursive: true });
  const result = new Map<SourceName, AcquiredSource>();
  const needDebian: SourcePin[] = [];

  for (const name of SOURCE_NAMES) {
    const pin = pins[name];
    const cachedPath = join(dir, pin.file);
    if (mode.kind === "dir") {
      result.set(name, { name, path: join(mode.dir, pin.file), ...(await fromDir(pin, mode.dir)), cached: false });
      continue;
    }
    const cached = await fromCache(cachedPath, pin.sha256);
    if (cached) {
      result.set(name, { name, path: cachedPath, ...cached, cached: true });
      continue;
    }
    if (mode.kind === "debian") {
      needDebian.push(pin);
      continue;
    }
    if (mode.kind === "url") {
      const url = `${mode.url.replace(/\/+$/, "")}/${pin.file}`;
      result.set(name, { name, ...(await download(ctx, pin, url, "mirror", cachedPath)) });
      continue;
    }
    if (mode.kind === "auto") {
      const debianKernel = await cachedDebianKernel(dir, pin);
      if (debianKernel) {
        result.set(name, { name, path: debianKernel.path, ...debianKernel.sidecar, cached: true });
        continue;
      }
    }
    try {
      result.set(name, { name, ...(await download(ctx, pin, pin.url, "upstream", cachedPath)) });
    } catch (err) {
      if (mode.kind === "upstream" || (err instanceof MincError && err.code === "checksum")) throw err;
      ctx.notice(
        `${pin.file}: upstream unreachable (${(err as Error).message.split(": ").at(-1) ?? ""}); using Debian's archive`,
      );
      needDebian.push(pin);
    }
  }
  if (needDebian.length > 0) {
    for (const [name, got] of await fromDebian(ctx, needDebian, dir)) result.set(name, { name, ...got, cached: false });
  }
  return Object.fromEntries(SOURCE_NAMES.map((n) => [n, result.get(n) as AcquiredSource])) as AcquiredSources;
}
