// A process joining a running container (tsminc-runtime exec): from runc's --process JSON or its
// flags, checked, and the words confine runs it with. Pure.
import { capabilityMask, capabilityName, type Capability } from "./capabilities.js";
import { MincError } from "./errors.js";
import { ociRlimit, rlimitWord, type Rlimit } from "./rlimits.js";
import type { RunConfig } from "./run-config.js";

export interface ExecProcess {
  readonly args: readonly string[];
  readonly env: readonly string[];
  /** absolute, inside the container */
  readonly cwd: string;
  readonly user: { readonly uid: number; readonly gid: number } | undefined;
  readonly groups: readonly number[];
  /** undefined: the container's own */
  readonly caps: readonly Capability[] | undefined;
  readonly noNewPrivs: boolean;
  readonly rlimits: readonly Rlimit[];
  readonly terminal: boolean;
  /** the terminal's size when the process JSON gives it (consoleSize) */
  readonly consoleSize: { readonly rows: number; readonly cols: number } | undefined;
}

/** The OCI runtime spec's `process`, as runc exec --process reads it. */
interface OciProcess {
  readonly terminal?: boolean;
  readonly consoleSize?: { readonly height?: number; readonly width?: number };
  readonly user?: { readonly uid?: number; readonly gid?: number; readonly additionalGids?: readonly number[] };
  readonly args?: readonly string[];
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly capabilities?: { readonly bounding?: readonly string[] };
  readonly noNewPrivileges?: boolean;
  readonly rlimits?: readonly { readonly type?: string; readonly soft?: number; readonly hard?: number }[];
}

const bad = (message: string, hint: string) => new MincError("usage", message, { hint });

function caps(names: readonly string[]): Capability[] {
  return names.map((n) => {
    const cap = capabilityName(n);
    if (cap === undefined || cap === "ALL") throw bad(`exec: unknown capability ${n}`, "use CAP_* names");
    return cap;
  });
}

function checked(p: ExecProcess): ExecProcess {
  if (p.args.length === 0) throw bad("exec needs a command", "tsminc-runtime exec ID COMMAND [ARG]...");
  if (!p.cwd.startsWith("/")) throw bad(`exec: the working folder ${p.cwd} is not absolute`, "give an absolute --cwd");
  return Object.freeze(p);
}

/** runc exec --process FILE: the file's text. */
export function execFromProcessJson(text: string): ExecProcess {
  let p: OciProcess;
  try {
    p = JSON.parse(text) as OciProcess;
  } catch (cause) {
    throw new MincError("usage", `exec --process: not JSON: ${(cause as Error).message}`, {
      hint: "give the OCI process JSON",
    });
  }
  const uid = p.user?.uid ?? 0;
  const gid = p.user?.gid ?? 0;
  return checked({
    args: [...(p.args ?? [])],
    env: [...(p.env ?? [])],
    cwd: p.cwd ?? "/",
    user: uid === 0 && gid === 0 ? undefined : { uid, gid },
    groups: [...(p.user?.additionalGids ?? [])],
    caps: p.capabilities?.bounding === undefined ? undefined : caps(p.capabilities.bounding),
    noNewPrivs: p.noNewPrivileges === true,
    rlimits: (p.rlimits ?? []).map((r) => {
      const limit = ociRlimit(r);
      if (typeof limit === "string") throw bad(`exec --process: ${limit}`, "fix the process JSON");
      return limit;
    }),
    terminal: p.terminal === true,
    consoleSize:
      p.consoleSize?.height === undefined || p.consoleSize.width === undefined
        ? undefined
        : { rows: p.consoleSize.height, cols: p.consoleSize.width },
  });
}

/** runc exec's flags: --cwd, --env, --user UID[:GID], --additional-gids, --cap, --no-new-privs, --tty. */
export function execFromFlags(
  args: readonly string[],
  flags: {
    readonly cwd?: string;
    readonly env: readonly string[];
    readonly user?: string;
    readonly groups: readonly string[];
    readonly caps: readonly string[];
    readonly noNewPrivs: boolean;
    readonly tty: boolean;
  },
): ExecProcess {
  const m = flags.user === undefined ? undefined : /^(\d+)(?::(\d+))?$/.exec(flags.user);
  if (flags.user !== undefined && m?.[1] === undefined)
    throw bad(`exec --user takes UID[:GID] as numbers, not "${flags.user}"`, "e.g. --user 1000:1000");
  const groups = flags.groups.map((g) => {
    if (!/^\d+$/.test(g)) throw bad(`exec --additional-gids takes numbers, not "${g}"`, "e.g. -g 10");
    return Number(g);
  });
  return checked({
    args: [...args],
    env: [...flags.env],
    cwd: flags.cwd ?? "/",
    user: m?.[1] === undefined ? undefined : { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) },
    groups,
    caps: flags.caps.length === 0 ? undefined : caps(flags.caps),
    noNewPrivs: flags.noNewPrivs,
    rlimits: [],
    terminal: flags.tty,
    consoleSize: undefined,
  });
}

/**
 * The process's files for exec.sh: args, env and cwd as NUL-ended entries, bytes as they are; and
 * with a terminal of `size`, tty ("ROWS COLS").
 */
export function execFiles(
  p: ExecProcess,
  size: { rows: number; cols: number } | undefined,
): { args: Buffer; env: Buffer; cwd: Buffer; tty: Buffer | undefined } {
  const nul = (list: readonly string[]) => Buffer.concat(list.map((w) => Buffer.from(`${w}\0`)));
  const tty = p.terminal ? Buffer.from(`${size?.rows ?? 24} ${size?.cols ?? 80}\n`) : undefined;
  return { args: nul(p.args), env: nul(p.env), cwd: nul([p.cwd]), tty };
}

/**
 * confine's words for the process: the container's confinement (its seccomp filter; its
 * capabilities unless the process names its own), and the process's ids, groups, limits and
 * no_new_privs. Every word is letters, digits, "-" and ":" (exec.sh splits them on spaces).
 */
export function execConfineWords(p: ExecProcess, container: RunConfig): string[] {
  const s = container.security;
  const keep = p.caps ?? (s.privileged ? undefined : s.caps);
  return [
    ...(keep === undefined ? [] : ["--caps", capabilityMask(keep)]),
    ...(s.seccomp ? ["--seccomp"] : []),
    ...(p.noNewPrivs || s.noNewPrivs ? ["--no-new-privs"] : []),
    ...(p.user === undefined ? [] : ["--user", `${p.user.uid}:${p.user.gid}`]),
    ...(p.groups.length === 0 ? [] : ["--groups", p.groups.join(":")]),
    ...p.rlimits.flatMap((r) => ["--rlimit", rlimitWord(r)]),
  ];
}
