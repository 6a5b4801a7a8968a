// Hostile layer tars, each trying to write outside the folder it is unpacked onto (one kind a layer).
import { tarBytes, type TarEntry } from "./tar-writer.js";

export const HOSTILE_KINDS = [
  "dotdot", // a file ../escaped
  "absolute", // a file /escaped
  "symlink-escape", // a symlink lnk -> OUTSIDE, then a file lnk/escaped
  "symlink-replaces-dir", // a folder lnk, a symlink lnk -> OUTSIDE in its place, then a file lnk/escaped
  "hardlink-escape", // a hard link escaped -> ../../etc/passwd
  "symlink-parent-hardlink", // a symlink lnk -> OUTSIDE, then a hard link escaped -> lnk/passwd
] as const;

export type HostileKind = (typeof HOSTILE_KINDS)[number];

/**
 * The tar of a hostile layer of `kind`. `outside` is where its symlinks point (an absolute folder
 * outside the unpack target; a test passes a sentinel folder of its own, holding a file `passwd`
 * for the hard-link kinds). Each starts with a harmless folder and file, as a real layer would.
 */
export function hostileLayer(kind: HostileKind, outside = "/etc"): Buffer {
  const start: TarEntry[] = [
    { path: "./", type: "dir" },
    { path: "./ok", body: "harmless\n" },
  ];
  const escaped = { path: "", body: "escaped!\n" };
  const rest: Record<HostileKind, TarEntry[]> = {
    dotdot: [{ ...escaped, path: "../escaped" }],
    absolute: [{ ...escaped, path: "/escaped" }],
    "symlink-escape": [
      { path: "lnk", type: "symlink", link: outside },
      { ...escaped, path: "lnk/escaped" },
    ],
    "symlink-replaces-dir": [
      { path: "lnk/", type: "dir" },
      { path: "lnk", type: "symlink", link: outside },
      { ...escaped, path: "lnk/escaped" },
    ],
    "hardlink-escape": [{ path: "escaped", type: "hardlink", link: "../../etc/passwd" }],
    "symlink-parent-hardlink": [
      { path: "lnk", type: "symlink", link: outside },
      { path: "escaped", type: "hardlink", link: "lnk/passwd" },
    ],
  };
  return tarBytes([...start, ...rest[kind]]);
}
