// Images read offline: OCI layouts (oci:), their tarred form (oci-archive:), `docker save` /
// `podman save` output (docker-archive:) and plain rootfs tarballs. Every blob is checked against
// its digest before it is used.
import { readFileSync, existsSync, lstatSync } from "node:fs";
import { join, normalize } from "node:path";
import type { ArchName } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import type { PathRef } from "../core/image-ref.js";
import {
  choosePlatform,
  EMPTY_IMAGE_CONFIG,
  parseImageConfig,
  parseManifestDoc,
  type Descriptor,
  type ImageConfig,
} from "../core/oci-image.js";
import { sha256File } from "./hash.js";

/** One layer: its digest and size as the manifest says, and a way to a verified local copy. */
export interface LayerSource {
  readonly digest: string;
  readonly size: number;
  /** the blob's path once its bytes are known to match the digest */
  fetch(): Promise<string>;
}

/** An image resolved to what unpacking needs. */
export interface ImageParts {
  readonly manifest: string | undefined;
  /** the root's key: the config's digest (a tarball's own digest) */
  readonly rootKey: string;
  readonly config: ImageConfig;
  readonly layers: readonly LayerSource[];
}

const layerError = (message: string, hint = "the image is malformed; export it again") =>
  new MincError("layer", message, { hint });

/** Reads a file that must hash to `digest`. */
async function verified(path: string, digest: string, what: string): Promise<string> {
  if (!existsSync(path)) throw layerError(`${what}: blob ${digest} is missing`);
  const actual = `sha256:${await sha256File(path)}`;
  if (actual !== digest) {
    throw new MincError("checksum", `${what}: blob ${digest} holds other bytes (${actual})`, {
      hint: "the image is corrupt; export or pull it again",
    });
  }
  return path;
}

async function verifiedJson(path: string, digest: string, what: string): Promise<Buffer> {
  return readFileSync(await verified(path, digest, what));
}

const blobIn = (layout: string, digest: string) => join(layout, "blobs", "sha256", digest.replace(/^sha256:/, ""));

/** The manifest a layout's index.json names by `reference` (its ref.name), or its only one. */
function pickFromLayout(layout: string, reference: string | undefined, what: string): Descriptor {
  let indexText: Buffer;
  try {
    indexText = readFileSync(join(layout, "index.json"));
  } catch (cause) {
    throw new MincError("usage", `${what}: no OCI image layout there (no index.json)`, {
      hint: "give a folder made by skopeo copy ... oci:DIR, or use docker-archive: for docker save output",
      cause,
    });
  }
  const index = parseManifestDoc(indexText, undefined, `${what} index.json`);
  if (index.kind !== "index") throw layerError(`${what}: index.json is not an image index`);
  const named = (d: Descriptor) => d.annotations?.["org.opencontainers.image.ref.name"];
  const found =
    reference === undefined
      ? index.manifests.length === 1
        ? index.manifests[0]
        : undefined
      : index.manifests.find((d) => named(d) === reference);
  if (found !== undefined) return found;
  const tags = index.manifests.map(named).filter((t) => t !== undefined);
  throw new MincError(
    "usage",
    reference === undefined
      ? `${what} holds ${index.manifests.length} images: name one`
      : `${what} has no image tagged "${reference}"`,
    { hint: `it has: ${tags.join(", ") || "no tags"}; e.g. oci:DIR:${tags[0] ?? "TAG"}` },
  );
}

/** An OCI layout's image for `arch`: an index is followed to the arch's manifest. */
export async function ociLayoutParts(layout: string, reference: string | undefined, arch: ArchName, what: string) {
  let desc = pickFromLayout(layout, reference, what);
  for (let depth = 0; ; depth++) {
    const doc = parseManifestDoc(
      await verifiedJson(blobIn(layout, desc.digest), desc.digest, what),
      desc.mediaType,
      what,
    );
    if (doc.kind === "manifest") {
      const config = parseImageConfig(
        await verifiedJson(blobIn(layout, doc.config.digest), doc.config.digest, what),
        `${what} config`,
      );
      return {
        manifest: desc.digest,
        rootKey: doc.config.digest,
        config,
        layers: doc.layers.map((l) => ({
          digest: l.digest,
          size: l.size,
          fetch: () => verified(blobIn(layout, l.digest), l.digest, what),
        })),
      } satisfies ImageParts;
    }
    if (depth > 2) throw layerError(`${what}: indexes nest too deep`);
    desc = choosePlatform(doc, arch, what);
  }
}

/** Unpacks an archive's plain files and folders only (no links, nothing outside `dest`). */
async function extractArchive(file: string, dest: string, what: string): Promise<void> {
  const { extract } = await import("tar");
  try {
    await extract({
      file,
      cwd: dest,
      strict: true,
      preservePaths: false,
      filter: (_path, entry) => "type" in entry && (entry.type === "File" || entry.type === "Directory"),
    });
  } catch (cause) {
    throw layerError(`${what}: cannot read the archive (${(cause as Error).message})`);
  }
}

export async function ociArchiveParts(ref: PathRef, scratch: string, arch: ArchName, what: string) {
  await extractArchive(ref.path, scratch, what);
  return ociLayoutParts(scratch, ref.reference, arch, what);
}

interface DockerArchiveEntry {
  readonly Config?: unknown;
  readonly RepoTags?: unknown;
  readonly Layers?: unknown;
}

/** A path the archive's manifest.json names: inside the extracted archive, a regular file. */
function archiveFile(dir: string, name: unknown, what: string): string {
  if (typeof name !== "string" || name === "" || name.startsWith("/") || normalize(name).startsWith(".."))
    throw layerError(`${what}: manifest.json names a bad path ${JSON.stringify(name)}`);
  const path = join(dir, normalize(name));
  if (!existsSync(path) || !lstatSync(path).isFile()) throw layerError(`${what}: ${name} is missing from the archive`);
  return path;
}

/** The digest a docker-archive file must have: its blobs/sha256/HEX or HEX.json / HEX.tar name, else `fallback`. */
function digestByName(name: string, fallback: string | undefined): string | undefined {
  const m = /(?:^|\/)(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json|\.tar)?$/.exec(name);
  return m?.[1] !== undefined ? `sha256:${m[1]}` : fallback;
}

export async function dockerArchiveParts(ref: PathRef, scratch: string, what: string): Promise<ImageParts> {
  await extractArchive(ref.path, scratch, what);
  let entries: DockerArchiveEntry[];
  try {
    entries = JSON.parse(readFileSync(join(scratch, "manifest.json"), "utf8")) as DockerArchiveEntry[];
  } catch (cause) {
    throw new MincError("usage", `${what}: not a docker-archive (no readable manifest.json)`, {
      hint: "give the output of docker save / podman save, or use oci-archive:",
      cause,
    });
  }
  if (!Array.isArray(entries) || entries.length === 0) throw layerError(`${what}: manifest.json lists no image`);
  const tagged = (e: DockerArchiveEntry) => (Array.isArray(e.RepoTags) ? (e.RepoTags as unknown[]) : []);
  const entry =
    ref.reference === undefined
      ? entries.length === 1
        ? entries[0]
        : undefined
      : entries.find((e) => tagged(e).some((t) => t === ref.reference || t === `localhost/${ref.reference}`));
  if (entry === undefined) {
    const all = entries.flatMap(tagged).join(", ");
    throw new MincError(
      "usage",
      `${what}: ${ref.reference === undefined ? "holds several images" : `no image tagged ${ref.reference}`}`,
      {
        hint: `name one: docker-archive:${ref.path}:NAME:TAG (it has ${all || "no tags"})`,
      },
    );
  }
  const configPath = archiveFile(scratch, entry.Config, what);
  const configDigest = digestByName(String(entry.Config), undefined) ?? `sha256:${await sha256File(configPath)}`;
  const config = parseImageConfig(await verifiedJson(configPath, configDigest, what), `${what} config`);
  const diffIds = (JSON.parse(readFileSync(configPath, "utf8")) as { rootfs?: { diff_ids?: unknown } }).rootfs
    ?.diff_ids;
  const layerNames = Array.isArray(entry.Layers) ? (entry.Layers as unknown[]) : [];
  const layers = layerNames.map((name, i) => {
    const path = archiveFile(scratch, name, what);
    // A layer named by its digest must have it; a classic one (uncompressed) must match its diff_id.
    const want = digestByName(String(name), Array.isArray(diffIds) ? (diffIds[i] as string | undefined) : undefined);
    if (want === undefined || !/^sha256:[0-9a-f]{64}$/.test(want))
      throw layerError(`${what}: layer ${String(name)} has no digest to check it by`);
    return { digest: want, size: lstatSync(path).size, fetch: () => verified(path, want, what) };
  });
  return { manifest: undefined, rootKey: configDigest, config, layers };
}

/** A rootfs tarball: one layer, no config (the command defaults to the root's /bin/sh). */
export async function tarballParts(ref: PathRef, what: string): Promise<ImageParts> {
  if (!existsSync(ref.path) || !lstatSync(ref.path).isFile())
    throw new MincError("usage", `${what}: no such file`, { hint: "check the path" });
  const digest = `sha256:${await sha256File(ref.path)}`;
  return {
    manifest: undefined,
    rootKey: digest,
    config: EMPTY_IMAGE_CONFIG,
    layers: [{ digest, size: lstatSync(ref.path).size, fetch: () => Promise.resolve(ref.path) }],
  };
}
