// Which CPU an ELF binary is for, from its first 20 bytes. Pure.
import { ARCH_NAMES, ARCHES, type ArchName } from "./arch.js";

export type ElfArch = { readonly arch: ArchName } | { readonly other: string };

/** e_machine values (elf.h) of CPUs ermine does not run, for the message that names them. */
const OTHER_MACHINES: Readonly<Record<number, string>> = {
  3: "i386",
  8: "mips",
  20: "ppc",
  21: "ppc64",
  22: "s390",
  243: "riscv",
  258: "loongarch",
};

/** The ermine arch whose executables have this e_machine. */
const archOfMachine = (machine: number) => ARCH_NAMES.find((name) => ARCHES[name].elfMachine === machine);

/** The arch of an ELF header, or undefined when the bytes are not ELF. */
export function elfArch(header: Uint8Array): ElfArch | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46)
    return undefined;
  const littleEndian = header[5] === 1;
  const machine = littleEndian
    ? (header[18] ?? 0) | ((header[19] ?? 0) << 8)
    : ((header[18] ?? 0) << 8) | (header[19] ?? 0);
  const arch = archOfMachine(machine);
  if (arch !== undefined && ARCHES[arch].elfClass === header[4] && littleEndian) return { arch };
  const bits = header[4] === 2 ? "64-bit" : "32-bit";
  const name = arch ?? OTHER_MACHINES[machine] ?? `ELF machine ${machine}`;
  return { other: `${name} (${bits}${littleEndian ? "" : ", big-endian"})` };
}

/** The first 20 bytes of a little-endian executable (ET_EXEC) of `arch`: what binfmt_misc matches. */
export function elfHeader(arch: ArchName): Buffer {
  const header = Buffer.alloc(20);
  header.set([0x7f, 0x45, 0x4c, 0x46, ARCHES[arch].elfClass, 1, 1]);
  header.writeUInt16LE(2, 16);
  header.writeUInt16LE(ARCHES[arch].elfMachine, 18);
  return header;
}
