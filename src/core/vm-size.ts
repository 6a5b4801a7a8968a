// The VM's CPUs and memory: the run's own (--cpus, --mem, an OCI bundle's resources) or defaults
// derived from the host, and the checks that a size fits the arch and the host. Pure.
import { ARCHES, type ArchName } from "./arch.js";
import { MincError } from "./errors.js";

export interface HostSize {
  /** the CPUs this process may run on */
  readonly cpus: number;
  /** the host's RAM in MiB */
  readonly memMiB: number;
}

export interface VmSize {
  readonly cpus: number;
  readonly memMiB: number;
}

/**
 * Without flags, a guest gets every host CPU up to 8 (an idle vCPU costs nothing: it halts) and a
 * quarter of the host's RAM, in whole 128 MiB steps, from 256 MiB up to 2 GiB. Only what the guest
 * touches is backed, and what it frees goes back (free page reporting), so the size is room, not cost.
 */
export const DEFAULT_CPU_CAP = 8;
export const DEFAULT_MEM_MIN_MIB = 256;
export const DEFAULT_MEM_CAP_MIB = 2048;

export function defaultVmSize(arch: ArchName, host: HostSize): VmSize {
  const cpus = Math.max(1, Math.min(host.cpus, DEFAULT_CPU_CAP, ARCHES[arch].maxCpus));
  const quarter = Math.floor(host.memMiB / 4 / 128) * 128;
  const memMiB = Math.min(DEFAULT_MEM_CAP_MIB, ARCHES[arch].maxMemMiB, Math.max(DEFAULT_MEM_MIN_MIB, quarter));
  return { cpus, memMiB };
}

/** The run's size: its own where it gives one, the default otherwise; refused if it cannot fit. */
export function vmSize(
  arch: ArchName,
  wanted: { readonly cpus: number | undefined; readonly memMiB: number | undefined },
  host: HostSize,
): VmSize {
  const fallback = defaultVmSize(arch, host);
  const cpus = wanted.cpus ?? fallback.cpus;
  const memMiB = wanted.memMiB ?? fallback.memMiB;
  const { maxCpus, maxMemMiB } = ARCHES[arch];
  if (cpus > maxCpus) {
    throw new MincError("usage", `--cpus ${cpus}: an ${arch} ermine runs at most ${maxCpus} CPUs`, {
      hint: `use --cpus ${maxCpus} or fewer`,
    });
  }
  if (memMiB > maxMemMiB) {
    throw new MincError("usage", `--mem ${memMiB}M: an ${arch} ermine has at most ${maxMemMiB} MiB`, {
      hint: `use --mem ${maxMemMiB}M or less`,
    });
  }
  // qemu backs guest RAM lazily, so a guest bigger than the host would start, then die in the
  // host's OOM killer (or swap it to a standstill) once it used the memory.
  if (memMiB > host.memMiB) {
    throw new MincError("usage", `--mem ${memMiB}M is more than this host's memory (${host.memMiB} MiB)`, {
      hint: `give --mem ${host.memMiB}M at most, or leave it out (the default here: ${fallback.memMiB}M)`,
    });
  }
  return { cpus, memMiB };
}
