// A raw tar writer for tests: ustar headers with any name (../x, /abs too), pax records, every entry type.

export type TarType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarEntry {
  /** written as given: nothing is normalized or refused */
  readonly path: string;
  readonly type?: TarType; // "file"
  /** a raw typeflag byte in place of `type`'s (e.g. "S", a GNU sparse file), the body kept */
  readonly typeflag?: string;
  readonly body?: string | Buffer;
  /** symlink text, or hard link target */
  readonly link?: string;
  readonly mode?: number; // 0o644 (files), 0o755 (folders)
  readonly uid?: number;
  readonly gid?: number;
  /** seconds since the epoch */
  readonly mtime?: number;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** pax SCHILY.xattr.NAME records */
  readonly xattrs?: Readonly<Record<string, string>>;
  /** more pax records, e.g. { path: "…" }; a path or link too long for ustar gets one anyway */
  readonly pax?: Readonly<Record<string, string>>;
}

const TYPEFLAG: Record<TarType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  link: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const h = Buffer.alloc(512);
  const put = (off: number, width: number, text: string): void => {
    const bytes = Buffer.from(text);
    if (bytes.length > width) throw new Error(`tar-writer: ${JSON.stringify(text)} does not fit ${width} bytes`);
    bytes.copy(h, off);
  };
  put(0, 100, fields.name);
  put(100, 8, octal(fields.mode, 8));
  put(108, 8, octal(fields.uid, 8));
  put(116, 8, octal(fields.gid, 8));
  put(124, 12, octal(fields.size, 12));
  put(136, 12, octal(fields.mtime, 12));
  put(148, 8, "        "); // the checksum counts its own field as spaces
  put(156, 1, fields.type);
  put(157, 100, fields.link);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  put(329, 8, octal(fields.devmajor, 8));
  put(337, 8, octal(fields.devminor, 8));
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

function padded(body: Buffer): Buffer[] {
  const pad = (512 - (body.length % 512)) % 512;
  return [body, Buffer.alloc(pad)];
}

/** One pax record: "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const rest = Buffer.byteLength(` ${key}=${value}\n`);
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.from(`${len} ${key}=${value}\n`);
}

function entryBlocks(e: TarEntry): Buffer[] {
  const type = e.type ?? "file";
  const body = type === "file" || e.typeflag !== undefined ? Buffer.from(e.body ?? "") : Buffer.alloc(0);
  const link = e.link ?? "";
  const records: [string, string][] = [];
  if (Buffer.byteLength(e.path) > 100) records.push(["path", e.path]);
  if (Buffer.byteLength(link) > 100) records.push(["linkpath", link]);
  for (const [k, v] of Object.entries(e.xattrs ?? {})) records.push([`SCHILY.xattr.${k}`, v]);
  for (const [k, v] of Object.entries(e.pax ?? {})) records.push([k, v]);
  const base = {
    mode: e.mode ?? (type === "dir" ? 0o755 : 0o644),
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    mtime: e.mtime ?? 1_700_000_000,
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  };
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
    blocks.push(header({ ...base, name: "PaxHeader", size: pax.length, type: "x", link: "" }), ...padded(pax));
  }
  const short = (s: string): string => (Buffer.byteLength(s) > 100 ? s.slice(0, 90) : s);
  blocks.push(
    header({ ...base, name: short(e.path), size: body.length, type: e.typeflag ?? TYPEFLAG[type], link: short(link) }),
  );
  blocks.push(...padded(body));
  return blocks;
}

/** The tar archive of `entries`, in order, with the two end-of-archive blocks. */
export function tarBytes(entries: readonly TarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(entryBlocks), Buffer.alloc(1024)]);
}
