// OCI test images, cached under ~/.cache/tsminc/oci-fixtures: layouts, an index, archives and rootfs tarballs.
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createGunzip, gzipSync } from "node:zlib";
import { execa } from "execa";
import { ARCH_NAMES, ARCHES, archOfNode, type ArchName } from "../../src/core/arch.js";
import { sha256Text } from "../../src/host/hash.js";
import { cacheDir } from "../../src/host/paths.js";
import { busyboxRootfs } from "./rootfs.js";

// ---- Facts the image tests assert on ----

type OciArch = "amd64" | "arm64" | "arm";

/** OCI's platform of each arch, from the arch table. */
export const OCI_PLATFORM: Readonly<Record<ArchName, { architecture: OciArch; variant?: string }>> = Object.fromEntries(
  ARCH_NAMES.map((a) => {
    const { ociArch, ociVariant } = ARCHES[a];
    return [a, { architecture: ociArch as OciArch, ...(ociVariant === undefined ? {} : { variant: ociVariant }) }];
  }),
) as Record<ArchName, { architecture: OciArch; variant?: string }>;

export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  tar: "application/vnd.oci.image.layer.v1.tar",
  tarGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** The mtime of every tar entry (2023-11-14T22:13:20Z): not 0, so that keeping it can be checked. */
export const FIXTURE_MTIME = 1_700_000_000;

/** Exact file bytes (no trailing newline) of the files tests read back. */
export const CONTENTS = {
  keep: "kept",
  upper: "upper",
  motd: "layer two",
  tarballMotd: "from a tarball",
} as const;

export const IMAGE_CMD = ["sh", "-c", 'echo "cmd:$GREETING:$(pwd):$(id -u)"'];
export const IMAGE_ENV = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "GREETING=hello world"];
export const IMAGE_WORKDIR = "/work/dir";

// ---- A deterministic ustar writer ----

/** One tar entry; `path` has no leading "/" or "./", directories none trailing. */
interface Entry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid?: number;
  gid?: number;
  data?: Buffer | string;
  target?: string;
}

const file = (path: string, data: string, mode = 0o644): Entry => ({ path, type: "file", mode, data });
const dir = (path: string, mode = 0o755): Entry => ({ path, type: "dir", mode });

function header(entry: Entry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
  // ustar splits a long name at a "/" into prefix (155) and name (100).
  let prefix = "";
  let rest = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", name.length - 2);
    prefix = name.slice(0, cut);
    rest = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(rest) > 100)
      throw new Error(`tar name too long: ${name}`);
  }
  const octal = (value: number, at: number, width: number) =>
    h.write(`${value.toString(8).padStart(width - 1, "0")}\0`, at, "ascii");
  h.write(rest, 0, 100);
  octal(entry.mode, 100, 8);
  octal(entry.uid ?? 0, 108, 8);
  octal(entry.gid ?? 0, 116, 8);
  octal(size, 124, 12);
  octal(FIXTURE_MTIME, 136, 12);
  h.write({ file: "0", dir: "5", symlink: "2" }[entry.type], 156, "ascii");
  h.write(entry.target ?? "", 157, 100);
  h.write("ustar\x0000", 257, "ascii");
  h.write(prefix, 345, 155);
  h.write("        ", 148, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** A tar of `entries` in path order, ending with the two zero blocks. */
function makeTar(entries: readonly Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const data = Buffer.from(entry.data ?? "");
    parts.push(header(entry, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The busybox root of `arch` as entries: owner 0:0, dirs 0755 (/tmp 1777), files 0644 or 0755. */
function busyboxEntries(arch: ArchName): Entry[] {
  const root = busyboxRootfs(arch);
  const entries: Entry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, path));
      if (st.isSymbolicLink())
        entries.push({ path, type: "symlink", mode: 0o777, target: readlinkSync(join(root, path)) });
      else if (st.isDirectory()) {
        entries.push(dir(path, path === "tmp" ? 0o1777 : 0o755));
        walk(path);
      } else
        entries.push({
          path,
          type: "file",
          mode: st.mode & 0o111 ? 0o755 : 0o644,
          data: readFileSync(join(root, path)),
        });
    }
  };
  walk("");
  return entries;
}

/** `base` with `extra` added, an entry of the same path replaced. */
function overlay(base: readonly Entry[], extra: readonly Entry[]): Entry[] {
  const byPath = new Map(base.map((e) => [e.path, e]));
  for (const e of extra) byPath.set(e.path, e);
  return [...byPath.values()];
}

// ---- The two layers of the test image ----

/** Layer 1: busybox, a user app (1000:1000, home /home/app owned by it), and files layer 2 hides. */
function layerOneTar(arch: ArchName): Buffer {
  return makeTar(
    overlay(busyboxEntries(arch), [
      file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"),
      file("etc/group", "root:x:0:\napp:x:1000:\n"),
      dir("home"),
      { ...dir("home/app"), uid: 1000, gid: 1000 },
      file("gone.txt", "gone"),
      dir("gone-dir"),
      file("gone-dir/x", "x"),
      dir("opq"),
      file("opq/a", "a"),
      file("opq/b", "b"),
      file("keep.txt", CONTENTS.keep),
      dir("work"),
      dir("work/dir"),
    ]),
  );
}

/** Layer 2: whiteouts of gone.txt and gone-dir, an opaque opq/ holding only c, and /etc/motd. */
function layerTwoTar(): Buffer {
  return makeTar([
    file(".wh.gone.txt", ""),
    file(".wh.gone-dir", ""),
    dir("opq"),
    file("opq/.wh..wh..opq", ""),
    file("opq/c", CONTENTS.upper),
    dir("etc"),
    file("etc/motd", CONTENTS.motd),
  ]);
}

// ---- Layouts ----

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

const digestOf = (bytes: Buffer | string) => `sha256:${sha256Text(bytes)}`;

/** Writes `bytes` as a blob of the layout at `dir` (once) and returns its descriptor. */
function putBlob(layout: string, mediaType: string, bytes: Buffer | string): Descriptor {
  const digest = digestOf(bytes);
  const path = join(layout, "blobs/sha256", digest.slice("sha256:".length));
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) writeFileSync(path, bytes);
  return { mediaType, digest, size: Buffer.byteLength(bytes) };
}

/** A layer as the image holds it and the diff_id its config names. */
interface Layer {
  mediaType: string;
  blob: Buffer;
  diffId: string;
}

const gzipLayer = (tar: Buffer): Layer => ({
  mediaType: MEDIA.tarGzip,
  blob: gzipSync(tar, { level: 6 }),
  diffId: digestOf(tar),
});
const plainLayer = (tar: Buffer): Layer => ({ mediaType: MEDIA.tar, blob: tar, diffId: digestOf(tar) });

/** Writes config, layers and manifest of one image into a layout; returns the manifest's descriptor. */
function putImage(
  layout: string,
  arch: ArchName,
  layers: readonly Layer[],
  config: Record<string, unknown>,
): { manifest: Descriptor; config: Descriptor; layers: Descriptor[] } {
  const platform = OCI_PLATFORM[arch];
  const configBlob = JSON.stringify({
    created: new Date(FIXTURE_MTIME * 1000).toISOString(),
    architecture: platform.architecture,
    os: "linux",
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({
      created: new Date(FIXTURE_MTIME * 1000).toISOString(),
      created_by: `tsminc test fixture layer ${i + 1}`,
    })),
  });
  const configDesc = putBlob(layout, MEDIA.config, configBlob);
  const layerDescs = layers.map((l) => putBlob(layout, l.mediaType, l.blob));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: configDesc,
    layers: layerDescs,
  });
  return { manifest: putBlob(layout, MEDIA.manifest, manifest), config: configDesc, layers: layerDescs };
}

/** Writes oci-layout and an index.json naming `desc` as `tag`. */
function putIndex(layout: string, desc: Descriptor, tag: string): void {
  mkdirSync(layout, { recursive: true });
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const entry = { ...desc, annotations: { "org.opencontainers.image.ref.name": tag } };
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [entry] }),
  );
}

function imageConfig(user: string | undefined): Record<string, unknown> {
  return {
    ...(user === undefined ? {} : { User: user }),
    Env: IMAGE_ENV,
    Cmd: IMAGE_CMD,
    WorkingDir: IMAGE_WORKDIR,
  };
}

function twoLayers(arch: ArchName): Layer[] {
  return [gzipLayer(layerOneTar(arch)), plainLayer(layerTwoTar())];
}

export interface ImageLayout {
  dir: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  /** the digests of the layer blobs as stored (layer 1 gzipped, layer 2 plain) */
  layerDigests: string[];
}

/** Writes the two-layer image of `arch` as an OCI layout at `layout` (uncached; imageLayout caches it). */
export function writeImageLayout(layout: string, arch: ArchName, opts: { user?: string } = {}): ImageLayout {
  const tag = opts.user === undefined ? "v1" : "user";
  const image = putImage(layout, arch, twoLayers(arch), imageConfig(opts.user));
  putIndex(layout, image.manifest, tag);
  return {
    dir: layout,
    tag,
    manifestDigest: image.manifest.digest,
    configDigest: image.config.digest,
    layerDigests: image.layers.map((l) => l.digest),
  };
}

// ---- The cache ----

/** This module's own compiled text: any edit to it makes new fixtures. */
const SELF = sha256Text(readFileSync(fileURLToPath(import.meta.url)));

/**
 * The folder `name`-KEY under cacheDir()/oci-fixtures, KEY a hash of this module and `inputs`;
 * `build` fills a fresh tmp folder that is then renamed into place (the first of two racers wins).
 */
async function cached(name: string, inputs: unknown, build: (tmp: string) => Promise<void> | void): Promise<string> {
  const key = sha256Text(JSON.stringify([SELF, inputs])).slice(0, 16);
  const final = join(cacheDir(), "oci-fixtures", `${name}-${key}`);
  if (existsSync(final)) return final;
  mkdirSync(dirname(final), { recursive: true });
  const tmp = mkdtempSync(`${final}.tmp-`);
  try {
    await build(tmp);
    renameSync(tmp, final);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(final)) throw error;
  }
  return final;
}

const busyboxKey = (arch: ArchName) => basename(busyboxRootfs(arch));

/** The two-layer test image of `arch` as an OCI layout, tag "v1" ("user" with opts.user, set as config.User). */
export async function imageLayout(arch: ArchName, opts: { user?: string } = {}): Promise<ImageLayout> {
  const inputs = { arch, busybox: busyboxKey(arch), user: opts.user ?? null };
  const folder = await cached(`image-${arch}`, inputs, (tmp) => {
    const facts = writeImageLayout(join(tmp, "layout"), arch, opts);
    writeFileSync(join(tmp, "fixture.json"), JSON.stringify(facts));
  });
  const facts = JSON.parse(readFileSync(join(folder, "fixture.json"), "utf8")) as ImageLayout;
  return { ...facts, dir: join(folder, "layout") };
}

export interface IndexLayout {
  dir: string;
  tag: string;
  /** the manifest digest of each platform's image */
  digests: Record<"amd64" | "arm64" | "arm", string>;
}

const ALL_ARCHES: readonly ArchName[] = ["x86_64", "arm64", "arm"];

/** One OCI layout, tag "multi", whose tag names an image index of the two-layer image of all three arches. */
export async function indexLayout(): Promise<IndexLayout> {
  const inputs = { index: ALL_ARCHES.map((arch) => [arch, busyboxKey(arch)]) };
  const folder = await cached("index", inputs, (tmp) => {
    const layout = join(tmp, "layout");
    const manifests: Descriptor[] = [];
    const digests: Partial<Record<"amd64" | "arm64" | "arm", string>> = {};
    for (const arch of ALL_ARCHES) {
      const { manifest } = putImage(layout, arch, twoLayers(arch), imageConfig(undefined));
      manifests.push({ ...manifest, platform: { os: "linux", ...OCI_PLATFORM[arch] } });
      digests[OCI_PLATFORM[arch].architecture] = manifest.digest;
    }
    const index = putBlob(layout, MEDIA.index, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests }));
    putIndex(layout, index, "multi");
    writeFileSync(join(tmp, "fixture.json"), JSON.stringify({ tag: "multi", digests }));
  });
  const facts = JSON.parse(readFileSync(join(folder, "fixture.json"), "utf8")) as Omit<IndexLayout, "dir">;
  return { ...facts, dir: join(folder, "layout") };
}

// ---- Archives and tarballs ----

/**
 * Copies `tag` of the layout to `dest` (replaced) with skopeo: a docker-archive named `opts.name:tag`
 * (default tsminc-fixture), or an oci-archive tagged `tag`. From an index, skopeo takes the host's
 * platform unless `opts.arch` picks one; `opts.all` copies the whole index (oci-archive only).
 */
export async function archiveOf(
  layout: string,
  tag: string,
  kind: "docker-archive" | "oci-archive",
  dest: string,
  opts: { name?: string; arch?: ArchName; all?: boolean } = {},
): Promise<string> {
  rmSync(dest, { force: true });
  const target = kind === "docker-archive" ? `${dest}:${opts.name ?? "tsminc-fixture"}:${tag}` : `${dest}:${tag}`;
  const platform = opts.arch === undefined ? undefined : OCI_PLATFORM[opts.arch];
  const args = [
    "--insecure-policy",
    ...(platform === undefined ? [] : ["--override-os", "linux", "--override-arch", platform.architecture]),
    ...(platform?.variant === undefined ? [] : ["--override-variant", platform.variant]),
    "copy",
    "-q",
    ...(opts.all === true ? ["--all"] : []),
    // Without it skopeo gzips layer 2 on the way into an oci-archive: another image.
    ...(kind === "oci-archive" ? ["--preserve-digests"] : []),
    `oci:${layout}:${tag}`,
    `${kind}:${target}`,
  ];
  const r = await execa("skopeo", args, { reject: false, all: true, stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`skopeo ${args.join(" ")} failed:\n${r.all}`);
  return dest;
}

const COMPRESSORS = {
  none: undefined,
  gzip: { suffix: ".gz", argv: ["gzip", "-n", "-c"] },
  xz: { suffix: ".xz", argv: ["xz", "-T1", "-c"] },
  zstd: { suffix: ".zst", argv: ["zstd", "-q", "-c"] },
} as const;

/** A `docker export`-like tarball of the busybox root of `arch` plus /etc/motd ("from a tarball"). */
export async function rootfsTarball(arch: ArchName, compression: "none" | "gzip" | "xz" | "zstd"): Promise<string> {
  const how = COMPRESSORS[compression];
  const name = `rootfs.tar${how?.suffix ?? ""}`;
  const inputs = { arch, busybox: busyboxKey(arch), compression };
  const folder = await cached(`tarball-${arch}-${compression}`, inputs, async (tmp) => {
    const tar = makeTar(overlay(busyboxEntries(arch), [file("etc/motd", CONTENTS.tarballMotd)]));
    if (how === undefined) {
      writeFileSync(join(tmp, name), tar);
      return;
    }
    const [bin, ...args] = how.argv;
    await execa(bin, args, { input: tar, stdout: { file: join(tmp, name) } });
  });
  return join(folder, name);
}

// ---- A hostile layer on a minimal base ----

/** A gzipped layer of the bare busybox root of `arch`, cached. */
async function bareLayer(arch: ArchName): Promise<{ path: string; diffId: string }> {
  const folder = await cached(`base-${arch}`, { arch, busybox: busyboxKey(arch) }, (tmp) => {
    const tar = makeTar(busyboxEntries(arch));
    writeFileSync(join(tmp, "layer.tar.gz"), gzipSync(tar, { level: 6 }));
    writeFileSync(join(tmp, "diff-id"), digestOf(tar));
  });
  return { path: join(folder, "layer.tar.gz"), diffId: readFileSync(join(folder, "diff-id"), "utf8") };
}

/** sha256 of what gunzip makes of `bytes` (streamed: a bomb costs time, not memory), or undefined if it fails. */
async function gunzippedDigest(bytes: Buffer): Promise<string | undefined> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of Readable.from([bytes]).pipe(createGunzip())) hash.update(chunk as Buffer);
  } catch {
    return undefined;
  }
  return `sha256:${hash.digest("hex")}`;
}

/**
 * A fresh OCI layout (tag "bad") in a new tmp folder: the bare busybox root of `arch` (default: the
 * host's) as a gzipped base layer, then `layerTar` as is. Bytes starting with gzip's magic are
 * typed tar+gzip with the diff_id of their gunzipped stream (of the raw bytes when that fails);
 * other bytes plain tar. `opts.mediaType` and `opts.diffId` override either.
 */
export async function imageWithLayer(
  layerTar: Buffer,
  arch: ArchName = archOfNode(process.arch) ?? "x86_64",
  opts: { mediaType?: string; diffId?: string } = {},
): Promise<string> {
  const base = await bareLayer(arch);
  const gzipped = layerTar[0] === 0x1f && layerTar[1] === 0x8b;
  const layer: Layer = {
    mediaType: opts.mediaType ?? (gzipped ? MEDIA.tarGzip : MEDIA.tar),
    blob: layerTar,
    diffId: opts.diffId ?? (gzipped ? await gunzippedDigest(layerTar) : undefined) ?? digestOf(layerTar),
  };
  const layout = mkdtempSync(join(tmpdir(), "tsminc-oci-bad-"));
  const baseLayer: Layer = { mediaType: MEDIA.tarGzip, blob: readFileSync(base.path), diffId: base.diffId };
  const image = putImage(layout, arch, [baseLayer, layer], imageConfig(undefined));
  putIndex(layout, image.manifest, "bad");
  return layout;
}
