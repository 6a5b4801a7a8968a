// What a layer tar entry's path means: a path to write, an OCI whiteout, an opaque marker, or aufs metadata to skip.
import { MincError } from "./errors.js";

/** A tar entry's path, classified. Paths are relative to the layer's root, "/"-joined, "" the root itself. */
export type LayerPath =
  | { readonly kind: "entry"; readonly path: string }
  /** `DIR/.wh.NAME`: DIR/NAME of the lower layers is deleted */
  | { readonly kind: "whiteout"; readonly path: string }
  /** `DIR/.wh..wh..opq`: what the lower layers have in DIR is deleted */
  | { readonly kind: "opaque"; readonly dir: string }
  /** other `.wh..wh.*` names: aufs's own bookkeeping, not part of the image */
  | { readonly kind: "ignore" };

const WHITEOUT = ".wh.";
const AUFS_META = ".wh..wh.";
const OPAQUE = ".wh..wh..opq";

const HINT = "the layer is malformed or hostile; use an image from a source you trust";

function refuse(what: string, raw: string, why: string): MincError {
  return new MincError("layer", `${what} ${JSON.stringify(raw)} ${why}`, { hint: HINT });
}

/** The path's components, "" and "." dropped; refuses absolute paths, ".." and NUL. */
function components(raw: string, what: string): string[] {
  if (raw.includes("\0")) throw refuse(what, raw, "has a NUL byte");
  if (raw.startsWith("/")) throw refuse(what, raw, "is absolute");
  const parts = raw.split("/").filter((c) => c !== "" && c !== ".");
  if (parts.includes("..")) throw refuse(what, raw, 'has a ".." component');
  return parts;
}

/** Classifies the path of a tar entry (as node-tar gives it, long names resolved). */
export function classifyLayerPath(raw: string): LayerPath {
  const parts = components(raw, "entry");
  const last = parts.pop();
  for (const dir of parts) {
    if (dir.startsWith(AUFS_META)) return { kind: "ignore" };
    if (dir.startsWith(WHITEOUT)) throw refuse("entry", raw, "has a whiteout name as a folder");
  }
  const dir = parts.join("/");
  const under = (name: string): string => (dir === "" ? name : `${dir}/${name}`);
  if (last === undefined) return { kind: "entry", path: "" };
  if (last === OPAQUE) return { kind: "opaque", dir };
  if (last.startsWith(AUFS_META)) return { kind: "ignore" };
  if (!last.startsWith(WHITEOUT)) return { kind: "entry", path: under(last) };
  const name = last.slice(WHITEOUT.length);
  if (name === "" || name === "." || name === "..") throw refuse("whiteout", raw, "names no file");
  return { kind: "whiteout", path: under(name) };
}

/** The in-layer path a hard link's target names; refuses absolute paths, "..", NUL and the root. */
export function hardLinkTarget(raw: string): string {
  const parts = components(raw, "hard link target");
  if (parts.length === 0) throw refuse("hard link target", raw, "is the root");
  return parts.join("/");
}
