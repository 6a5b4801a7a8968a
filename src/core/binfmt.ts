// binfmt_misc handlers: parsing /proc/sys/fs/binfmt_misc entries and finding the one the kernel would
// run a program of a given arch with (ns-mode --arch through qemu-user). Pure.
import type { ArchName } from "./arch.js";
import { elfHeader } from "./elf.js";

/** Where binfmt_misc is mounted. */
export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

export interface BinfmtEntry {
  readonly name: string;
  readonly enabled: boolean;
  readonly interpreter: string;
  /** the kernel's flag letters: F (opened at registration, no path lookup at exec time), P, O, C */
  readonly flags: string;
  readonly offset: number;
  readonly magic: Buffer;
  readonly mask: Buffer;
}

/** What the host's binfmt_misc offers; probed only for ns-mode runs of a foreign arch. */
export interface BinfmtFacts {
  /** /proc/sys/fs/binfmt_misc holds the filesystem */
  readonly mounted: boolean;
  /** its status file says enabled */
  readonly enabled: boolean;
  readonly entries: readonly BinfmtEntry[];
  /** which interpreters exist on the host (for handlers without F, which are looked up by path) */
  readonly interpreterExists: Readonly<Record<string, boolean>>;
}

/** One entry file's text, as the kernel prints it; undefined for extension entries or junk. */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry | undefined {
  const lines = text.split("\n");
  const field = (key: string) => lines.find((l) => l.startsWith(`${key} `))?.slice(key.length + 1);
  const magic = field("magic");
  const interpreter = field("interpreter");
  if (magic === undefined || interpreter === undefined || !/^[0-9a-f]*$/i.test(magic)) return undefined;
  const mask = field("mask") ?? "ff".repeat(magic.length / 2);
  return {
    name,
    enabled: lines[0] === "enabled",
    interpreter,
    flags:
      lines
        .find((l) => l.startsWith("flags:"))
        ?.slice("flags:".length)
        .trim() ?? "",
    offset: Number(field("offset") ?? "0"),
    magic: Buffer.from(magic, "hex"),
    mask: Buffer.from(mask, "hex"),
  };
}

function matches(entry: BinfmtEntry, header: Buffer): boolean {
  if (entry.offset + entry.magic.length > header.length) return false;
  for (let i = 0; i < entry.magic.length; i++) {
    const m = entry.mask[i] ?? 0xff;
    if (((header[entry.offset + i] ?? 0) & m) !== ((entry.magic[i] ?? 0) & m)) return false;
  }
  return true;
}

/** The enabled handler that would run an executable of `arch`, if any. */
export function binfmtFor(arch: ArchName, entries: readonly BinfmtEntry[]): BinfmtEntry | undefined {
  const header = elfHeader(arch);
  return entries.find((e) => e.enabled && matches(e, header));
}
