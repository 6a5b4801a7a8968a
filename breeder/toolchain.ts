// What the build needs from the host, per arch, and the apt package that provides each piece.
import { ARCHES, crossPrefix, type ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";

export interface Requirement {
  /** a program on PATH, or an absolute file path */
  readonly need: string;
  readonly kind: "program" | "file";
  readonly aptPackage: string;
  readonly why: string;
}

const COMMON: readonly Requirement[] = [
  { need: "make", kind: "program", aptPackage: "make", why: "runs every build" },
  { need: "gcc", kind: "program", aptPackage: "gcc", why: "host tools of kbuild" },
  { need: "bc", kind: "program", aptPackage: "bc", why: "kbuild computes timer constants" },
  { need: "bison", kind: "program", aptPackage: "bison", why: "kconfig's parser" },
  { need: "flex", kind: "program", aptPackage: "flex", why: "kconfig's lexer" },
  { need: "perl", kind: "program", aptPackage: "perl", why: "kbuild and busybox scripts" },
  { need: "xz", kind: "program", aptPackage: "xz-utils", why: "unpacks linux" },
  { need: "lz4", kind: "program", aptPackage: "lz4", why: "compresses the x86_64 and arm kernels" },
  { need: "bzip2", kind: "program", aptPackage: "bzip2", why: "unpacks busybox" },
  { need: "/usr/include/gelf.h", kind: "file", aptPackage: "libelf-dev", why: "objtool (x86) and resolve_btfids" },
  {
    need: "/usr/include/openssl/opensslv.h",
    kind: "file",
    aptPackage: "libssl-dev",
    why: "kbuild's certificate tools",
  },
];

const DEBIAN: readonly Requirement[] = [
  { need: "apt-get", kind: "program", aptPackage: "apt", why: "--sources debian downloads packages" },
  { need: "dpkg-deb", kind: "program", aptPackage: "dpkg", why: "--sources debian unpacks linux-source" },
];

/** Everything building `arch` on a host whose Node arch is `hostNodeArch` needs. */
export function requirementsFor(arch: ArchName, hostNodeArch: string): Requirement[] {
  const info = ARCHES[arch];
  const prefix = crossPrefix(arch, hostNodeArch);
  if (prefix === "") {
    return [
      {
        need: `/usr/lib/${info.gnuTriplet}/libc.a`,
        kind: "file",
        aptPackage: "libc6-dev",
        why: "static busybox, confine and nsrun",
      },
    ];
  }
  return [
    { need: `${prefix}gcc`, kind: "program", aptPackage: info.gccPackage, why: `cross compiler for ${arch}` },
    {
      need: `/usr/${info.gnuTriplet}/lib/libc.a`,
      kind: "file",
      aptPackage: info.libcPackage,
      why: `static libc for ${arch}`,
    },
  ];
}

export interface ToolProbe {
  readonly hasProgram: (name: string) => boolean;
  readonly hasFile: (path: string) => boolean;
}

/** Throws one error naming every missing piece and the apt-get line that installs them all. */
export function checkRequirements(
  arches: readonly ArchName[],
  hostNodeArch: string,
  withDebian: boolean,
  probe: ToolProbe,
): void {
  const all = [...COMMON, ...(withDebian ? DEBIAN : []), ...arches.flatMap((a) => requirementsFor(a, hostNodeArch))];
  const missing = all.filter((r) => !(r.kind === "program" ? probe.hasProgram(r.need) : probe.hasFile(r.need)));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((r) => r.aptPackage))];
  throw new MincError("missing-tool", `missing ${missing.map((r) => `${r.need} (${r.why})`).join(", ")}`, {
    hint: `apt-get install ${packages.join(" ")}`,
  });
}
