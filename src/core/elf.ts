// Which CPU an ELF binary is for, from its first 20 bytes. Pure.
import type { ArchName } from "./arch.js";

export type ElfArch = { readonly arch: ArchName } | { readonly other: string };

/** e_machine values (elf.h) and what they are called. */
const MACHINES: Readonly<Record<number, { name: string; arch?: ArchName; class: 1 | 2 }>> = {
  3: { name: "i386", class: 1 },
  8: { name: "mips", class: 1 },
  20: { name: "ppc", class: 1 },
  21: { name: "ppc64", class: 2 },
  22: { name: "s390", class: 2 },
  40: { name: "arm", arch: "arm", class: 1 },
  62: { name: "x86_64", arch: "x86_64", class: 2 },
  183: { name: "aarch64", arch: "arm64", class: 2 },
  243: { name: "riscv", class: 2 },
  258: { name: "loongarch", class: 2 },
};

/** The arch of an ELF header, or undefined when the bytes are not ELF. */
export function elfArch(header: Uint8Array): ElfArch | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46)
    return undefined;
  const littleEndian = header[5] === 1;
  const machine = littleEndian
    ? (header[18] ?? 0) | ((header[19] ?? 0) << 8)
    : ((header[18] ?? 0) << 8) | (header[19] ?? 0);
  const known = MACHINES[machine];
  if (known?.arch !== undefined && known.class === header[4] && littleEndian) return { arch: known.arch };
  const bits = header[4] === 2 ? "64-bit" : "32-bit";
  return { other: `${known?.name ?? `ELF machine ${machine}`} (${bits}${littleEndian ? "" : ", big-endian"})` };
}

/** The first 20 bytes of a little-endian executable (ET_EXEC) of `arch`: what binfmt_misc matches. */
export function elfHeader(arch: ArchName): Buffer {
  const entry = Object.entries(MACHINES).find(([, m]) => m.arch === arch);
  const machine = Number(entry?.[0]);
  const header = Buffer.alloc(20);
  header.set([0x7f, 0x45, 0x4c, 0x46, entry?.[1].class ?? 2, 1, 1]);
  header.writeUInt16LE(2, 16);
  header.writeUInt16LE(machine, 18);
  return header;
}
