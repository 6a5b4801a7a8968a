// The OCI runtime front end: a bundle's config.json (as podman, docker or containerd write it) made
// into one RunConfig, with a line for each field that cannot be honored exactly. Pure.
import { isAbsolute, resolve } from "node:path";
import { lookupArch } from "../core/arch.js";
import { capabilityName, type Capability } from "../core/capabilities.js";
import { MincError } from "../core/errors.js";
import { bindFlags, tmpfsOptions } from "../core/mount-options.js";
import { ociRlimit } from "../core/rlimits.js";
import { runConfig, type Bind, type RunConfig, type Tmpfs } from "../core/run-config.js";
import { toRunConfig } from "./from-flags.js";

/** The parts of the OCI runtime spec's config.json tsminc reads. */
interface OciSpec {
  readonly process?: {
    readonly terminal?: boolean;
    readonly consoleSize?: { readonly height?: number; readonly width?: number };
    readonly user?: { readonly uid?: number; readonly gid?: number; readonly additionalGids?: readonly number[] };
    readonly rlimits?: readonly { readonly type?: string; readonly soft?: number; readonly hard?: number }[];
    readonly args?: readonly string[];
    readonly env?: readonly string[];
    readonly cwd?: string;
    readonly capabilities?: { readonly bounding?: readonly string[] };
    readonly noNewPrivileges?: boolean;
  };
  readonly root?: { readonly path?: string; readonly readonly?: boolean };
  readonly hostname?: string;
  readonly mounts?: readonly {
    readonly destination?: string;
    readonly type?: string;
    readonly source?: string;
    readonly options?: readonly string[];
  }[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly linux?: {
    readonly resources?: {
      readonly memory?: { readonly limit?: number };
      readonly cpu?: { readonly quota?: number; readonly period?: number };
    };
    readonly namespaces?: readonly { readonly type?: string; readonly path?: string }[];
    readonly seccomp?: unknown;
  };
}

/** The mounts every tsminc container has of its own (confine makes them): the bundle's are not needed. */
const OWN_MOUNTS = new Set(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);

/** What a VM needs besides the container's memory limit: its kernel, init and page cache. */
export const VM_MEMORY_OVERHEAD_MIB = 64;

const bad = (message: string, hint: string) => new MincError("usage", message, { hint });

export interface OciRun {
  readonly config: RunConfig;
  /** fields honored only in part, a line each (for the runtime's log) */
  readonly warnings: readonly string[];
  /** process.terminal: the container runs on a pseudo-terminal whose master goes to the engine */
  readonly terminal: { readonly rows: number; readonly cols: number } | undefined;
}

function parseSpec(text: string): OciSpec {
  try {
    const spec = JSON.parse(text) as unknown;
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new Error("not an object");
    return spec;
  } catch (cause) {
    throw new MincError("usage", `config.json is not a valid OCI runtime spec: ${(cause as Error).message}`, {
      hint: "the bundle's config.json must be JSON (runc spec makes one)",
    });
  }
}

function capabilities(names: readonly string[]): Capability[] {
  return names.map((n) => {
    const cap = capabilityName(n);
    if (cap === undefined || cap === "ALL") throw bad(`config.json: unknown capability ${n}`, "use CAP_* names");
    return cap;
  });
}

/** config.json's mounts as binds and tmpfs (the container's own proc, dev, sys... are confine's). */
function mounts(spec: OciSpec, warnings: string[]): { binds: Bind[]; tmpfs: Tmpfs[] } {
  const binds: Bind[] = [];
  const tmpfs: Tmpfs[] = [];
  for (const m of spec.mounts ?? []) {
    const target = m.destination ?? "";
    if (OWN_MOUNTS.has(target)) continue;
    if (!isAbsolute(target))
      throw bad(`config.json mount ${target}: the destination must be absolute`, "fix the mount");
    const options = m.options ?? [];
    const isBind = m.type === "bind" || options.includes("bind") || options.includes("rbind");
    if (m.type === "tmpfs" && !isBind) {
      if (options.includes("tmpcopyup"))
        warnings.push(`mount ${target}: tmpcopyup is not done: the tmpfs starts empty`);
      const parsed = tmpfsOptions(options.filter((o) => o !== "tmpcopyup" && o !== "notmpcopyup"));
      if ("bad" in parsed)
        throw bad(`config.json mount ${target}: tmpfs option ${parsed.bad} is not supported`, "drop it");
      tmpfs.push({ target, options: parsed.ok });
      continue;
    }
    if (!isBind) {
      throw bad(
        `config.json mount ${target} (${m.type ?? "no type"}): only bind and tmpfs mounts are supported`,
        "drop the mount",
      );
    }
    if (m.source === undefined || !isAbsolute(m.source))
      throw bad(`config.json mount ${target}: the source must be absolute`, "fix the mount");
    const flags = bindFlags(options);
    if ("bad" in flags) throw bad(`config.json mount ${target}: bind option ${flags.bad} is not supported`, "drop it");
    binds.push({ source: m.source, target, flags: flags.ok });
  }
  return { binds, tmpfs };
}

/** The VM's memory: run.tsminc.mem, else the memory limit plus the VM's own needs. */
function vmMemory(spec: OciSpec): string | undefined {
  const mem = spec.annotations?.["run.tsminc.mem"];
  if (mem !== undefined) return mem;
  const limit = spec.linux?.resources?.memory?.limit;
  if (limit === undefined || limit <= 0) return undefined;
  return `${Math.ceil(limit / 2 ** 20) + VM_MEMORY_OVERHEAD_MIB}M`;
}

/** The VM's CPUs: run.tsminc.cpus, else the CPU quota rounded up. */
function vmCpus(spec: OciSpec): string | undefined {
  const cpus = spec.annotations?.["run.tsminc.cpus"];
  if (cpus !== undefined) return cpus;
  const { quota, period } = spec.linux?.resources?.cpu ?? {};
  if (quota === undefined || period === undefined || quota <= 0 || period <= 0) return undefined;
  return String(Math.max(1, Math.ceil(quota / period)));
}

/** config.json's text and the bundle folder to a RunConfig (vm mode unless run.tsminc.mode=ns). */
export function fromOciSpec(text: string, bundle: string): OciRun {
  const spec = parseSpec(text);
  const warnings: string[] = [];
  const p = spec.process ?? {};
  const args = p.args ?? [];
  if (args.length === 0) throw bad("config.json: process.args is empty", "give the command to run");
  const mode = spec.annotations?.["run.tsminc.mode"] ?? "vm";
  if (mode !== "vm" && mode !== "ns") throw bad(`run.tsminc.mode is vm or ns, not "${mode}"`, "fix the annotation");
  const qemu = mode === "vm";
  const arch = spec.annotations?.["run.tsminc.arch"];
  if (arch !== undefined && lookupArch(arch) === undefined)
    throw bad(`run.tsminc.arch "${arch}" is not an arch tsminc knows`, "use x86_64, arm64 or arm");
  // The engine's own network namespace (podman's default network): the container joins it, in the
  // VM through its NIC; without a path, one of its own with only the loopback.
  const netns = spec.linux?.namespaces?.find((n) => n.type === "network")?.path;
  const mem = qemu ? vmMemory(spec) : undefined;
  const cpus = qemu ? vmCpus(spec) : undefined;
  const base = toRunConfig(
    {
      qemu,
      network: "none",
      ...(arch === undefined ? {} : { arch }),
      ...(mem === undefined ? {} : { mem }),
      ...(cpus === undefined ? {} : { cpus }),
    },
    args,
    bundle,
  );
  const uid = p.user?.uid ?? 0;
  const gid = p.user?.gid ?? 0;
  const bounding = p.capabilities?.bounding;
  return {
    warnings,
    terminal: p.terminal === true ? { rows: p.consoleSize?.height ?? 0, cols: p.consoleSize?.width ?? 0 } : undefined,
    config: runConfig({
      ...base,
      rootdir: resolve(bundle, spec.root?.path ?? "rootfs"),
      // The engine made this root for the container alone: its writes belong there, as with runc.
      direct: true,
      // The engine's kill (podman stop: SIGTERM) is for the container's process, not for the VM.
      engine: true,
      network: netns === undefined ? "none" : "engine",
      netns,
      name: spec.hostname === undefined || spec.hostname === "" ? undefined : spec.hostname,
      user: uid === 0 && gid === 0 ? undefined : { uid, gid },
      groups: [...(p.user?.additionalGids ?? [])],
      rlimits: (p.rlimits ?? []).map((r) => {
        const limit = ociRlimit(r);
        if (typeof limit === "string") throw bad(`config.json: ${limit}`, "fix process.rlimits");
        return limit;
      }),
      env: [...(p.env ?? [])],
      workdir: p.cwd === undefined || p.cwd === "/" ? undefined : p.cwd,
      ...mounts(spec, warnings),
      security: {
        ...base.security,
        ...(bounding === undefined ? {} : { caps: capabilities(bounding) }),
        seccomp: spec.linux?.seccomp !== undefined,
        noNewPrivs: p.noNewPrivileges === true,
        readOnly: spec.root?.readonly === true,
      },
    }),
  };
}
