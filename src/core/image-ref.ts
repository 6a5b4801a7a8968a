// Image references in skopeo's transport names (docker://, oci:, oci-archive:, docker-archive:) and
// plain rootfs tarballs: parsed, validated and printed back. Pure.
import { MincError } from "./errors.js";

export interface DockerRef {
  readonly transport: "docker";
  /** host[:port] the API is spoken to (docker.io's is registry-1.docker.io) */
  readonly registry: string;
  /** e.g. library/busybox */
  readonly repository: string;
  readonly tag: string | undefined;
  /** sha256:<64 hex>, when pinned */
  readonly digest: string | undefined;
}

export interface PathRef {
  readonly transport: "oci" | "oci-archive" | "docker-archive" | "tarball";
  /** absolute */
  readonly path: string;
  /** oci/oci-archive: the index's ref.name; docker-archive: a RepoTag like name:tag */
  readonly reference: string | undefined;
}

export type ImageRef = DockerRef | PathRef;

const TARBALL = /\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.zst|tzst)$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
// The distribution spec's grammar: lowercase path components separated by / and . _ __ -.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const bad = (text: string, why: string, hint: string) =>
  new MincError("usage", `image reference ${JSON.stringify(text)}: ${why}`, { hint });

/** Whether a -r/--nopriv value names an image rather than a folder: a transport, or a tarball's name. */
export function looksLikeImage(text: string): boolean {
  return /^(docker:\/\/|oci:|oci-archive:|docker-archive:)/.test(text) || TARBALL.test(text);
}

function parseDocker(text: string, rest: string): DockerRef {
  let name = rest;
  let digest: string | undefined;
  const at = name.indexOf("@");
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(text, `"${digest}" is not a sha256 digest`, "use @sha256:<64 hex digits>");
  }
  let tag: string | undefined;
  const lastColon = name.lastIndexOf(":");
  if (lastColon > name.lastIndexOf("/")) {
    tag = name.slice(lastColon + 1);
    name = name.slice(0, lastColon);
    if (!TAG.test(tag)) throw bad(text, `"${tag}" is not a valid tag`, "tags are letters, digits, _ . - (128 at most)");
  }
  const parts = name.split("/");
  const first = parts[0] ?? "";
  // docker's rule: the first component is a registry when it has a dot or a port, or is localhost.
  const hasRegistry = parts.length > 1 && (/[.:]/.test(first) || first === "localhost");
  let registry = hasRegistry ? first : "docker.io";
  let path = hasRegistry ? parts.slice(1) : parts;
  if (registry === "docker.io" || registry === "index.docker.io") {
    registry = "registry-1.docker.io";
    if (path.length === 1) path = ["library", ...path];
  }
  if (hasRegistry && !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(first))
    throw bad(text, `"${first}" is not a registry host[:port]`, "e.g. docker://127.0.0.1:5000/name:tag");
  const badPart = path.find((p) => !COMPONENT.test(p));
  if (path.length === 0 || badPart !== undefined)
    throw bad(
      text,
      `"${path.join("/")}" is not a repository name`,
      "names are lowercase: letters, digits, . _ - and /",
    );
  return {
    transport: "docker",
    registry,
    repository: path.join("/"),
    tag: tag ?? (digest === undefined ? "latest" : undefined),
    digest,
  };
}

/** PATH[:REF], where REF is what follows the last ":" when it holds no "/" (skopeo's rule). */
function splitPath(rest: string): [string, string | undefined] {
  const colon = rest.lastIndexOf(":");
  if (colon > 0 && !rest.slice(colon + 1).includes("/")) return [rest.slice(0, colon), rest.slice(colon + 1)];
  return [rest, undefined];
}

/** `resolvePath` turns a relative path into an absolute one (the caller's cwd: kept out of this module). */
export function parseImageRef(text: string, resolvePath: (p: string) => string): ImageRef {
  if (/[\0\n]/.test(text)) throw bad(text, "holds a NUL or a newline", "check the reference");
  if (text.startsWith("docker://")) return parseDocker(text, text.slice("docker://".length));
  for (const transport of ["oci-archive", "docker-archive", "oci"] as const) {
    if (!text.startsWith(`${transport}:`)) continue;
    const rest = text.slice(transport.length + 1);
    const [path, reference] = transport === "docker-archive" ? splitArchive(rest) : splitPath(rest);
    if (path === "") throw bad(text, "names no path", `e.g. ${transport}:./image${transport === "oci" ? "" : ".tar"}`);
    return { transport, path: resolvePath(path), reference: reference === "" ? undefined : reference };
  }
  if (TARBALL.test(text)) return { transport: "tarball", path: resolvePath(text), reference: undefined };
  throw bad(
    text,
    "is not one tsminc reads",
    "use docker://HOST/NAME:TAG, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE, or a .tar[.gz|.xz|.zst] rootfs",
  );
}

/** docker-archive:PATH[:NAME:TAG]: the name may hold a ":" of its own (a registry's port). */
function splitArchive(rest: string): [string, string | undefined] {
  const m = /^(.*?):([^/:]*(?::\d+)?(?:\/[^:]*)*:[^:/]+)$/.exec(rest);
  if (m?.[1] !== undefined && m[2] !== undefined && m[1] !== "") return [m[1], m[2]];
  return [rest, undefined];
}

/** The reference as the user would type it again (docker.io names shortened as docker prints them). */
export function formatImageRef(ref: ImageRef): string {
  if (ref.transport !== "docker") {
    const tail = ref.reference === undefined ? "" : `:${ref.reference}`;
    return ref.transport === "tarball" ? ref.path : `${ref.transport}:${ref.path}${tail}`;
  }
  const host = ref.registry === "registry-1.docker.io" ? "docker.io" : ref.registry;
  return `docker://${host}/${ref.repository}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}
