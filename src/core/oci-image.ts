// OCI and Docker image documents (index / manifest list, manifest, config): media types, typed
// parsers that refuse what they cannot use, and the platform choice from an index. Pure.
import { ARCHES, type ArchName } from "./arch.js";
import { MincError } from "./errors.js";

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** What a registry is asked for a manifest: any of these. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest] as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: "index";
  readonly manifests: readonly Descriptor[];
}

export interface ImageManifestDoc {
  readonly kind: "manifest";
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** The parts of an image's config tsminc honors (the OCI config's `config` object, and the platform). */
export interface ImageConfig {
  readonly architecture: string | undefined;
  readonly variant: string | undefined;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly workingDir: string | undefined;
  readonly user: string | undefined;
}

export const EMPTY_IMAGE_CONFIG: ImageConfig = {
  architecture: undefined,
  variant: undefined,
  entrypoint: [],
  cmd: [],
  env: [],
  workingDir: undefined,
  user: undefined,
};

const DIGEST = /^sha256:[0-9a-f]{64}$/;

const malformed = (what: string, why: string) =>
  new MincError("layer", `${what}: ${why}`, { hint: "the image is malformed; rebuild or re-export it" });

function json(bytes: Buffer | string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch (cause) {
    throw malformed(what, `not JSON (${(cause as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw malformed(what, "not a JSON object");
  return doc as Record<string, unknown>;
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== "object" || d === null) throw malformed(what, "a descriptor is not an object");
  if (typeof d.digest !== "string" || !DIGEST.test(d.digest))
    throw malformed(what, `digest ${JSON.stringify(d.digest)} is not sha256:<64 hex>`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0)
    throw malformed(what, `${d.digest} has no valid size`);
  return { ...d, mediaType: typeof d.mediaType === "string" ? d.mediaType : "", digest: d.digest, size: d.size };
}

/** An index / manifest list, or a manifest; `mediaType` is the HTTP Content-Type when there is one. */
export function parseManifestDoc(bytes: Buffer | string, mediaType: string | undefined, what: string) {
  const doc = json(bytes, what);
  const type =
    mediaType && mediaType !== "application/json" ? mediaType : typeof doc.mediaType === "string" ? doc.mediaType : "";
  if (type === MEDIA.ociIndex || type === MEDIA.dockerList || (type === "" && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw malformed(what, "an index without manifests");
    return { kind: "index", manifests: doc.manifests.map((m) => descriptor(m, what)) } satisfies ImageIndex;
  }
  if (type === MEDIA.ociManifest || type === MEDIA.dockerManifest || (type === "" && doc.config !== undefined)) {
    if (!Array.isArray(doc.layers)) throw malformed(what, "a manifest without layers");
    return {
      kind: "manifest",
      config: descriptor(doc.config, what),
      layers: doc.layers.map((l) => descriptor(l, what)),
    } satisfies ImageManifestDoc;
  }
  throw malformed(what, `media type "${type}" is neither an image manifest nor an index (schema 1 is not read)`);
}

function strings(value: unknown, field: string, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    throw malformed(what, `${field} is not a list of strings`);
  return value;
}

/** An image config (OCI or Docker; both name the fields alike). */
export function parseImageConfig(bytes: Buffer | string, what: string): ImageConfig {
  const doc = json(bytes, what);
  const c = (doc.config ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return {
    architecture: text(doc.architecture),
    variant: text(doc.variant),
    entrypoint: strings(c.Entrypoint, "Entrypoint", what),
    cmd: strings(c.Cmd, "Cmd", what),
    env: strings(c.Env, "Env", what),
    workingDir: text(c.WorkingDir),
    user: text(c.User),
  };
}

/** The manifest in an index for `arch` (linux only; an arm variant must match when given). */
export function choosePlatform(index: ImageIndex, arch: ArchName, what: string): Descriptor {
  const want = ARCHES[arch];
  const linux = index.manifests.filter((m) => m.platform?.os === "linux" && m.platform.architecture === want.ociArch);
  const exact = linux.find((m) => m.platform?.variant === want.ociVariant);
  const loose = linux.find((m) => m.platform?.variant === undefined || want.ociVariant === undefined);
  const chosen = exact ?? loose;
  if (chosen !== undefined) return chosen;
  const offered = index.manifests
    .map((m) =>
      m.platform ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join("/") : "?",
    )
    .join(", ");
  throw new MincError("registry", `${what} has no linux/${want.ociArch} image (it has ${offered || "none"})`, {
    hint: "choose one of its arches with --arch, or another image",
  });
}

/** The ermine arch an image's config says it is for, if tsminc knows it. */
export function archOfImage(config: ImageConfig): ArchName | undefined {
  const names = Object.keys(ARCHES) as ArchName[];
  return names.find((n) => ARCHES[n].ociArch === config.architecture);
}
