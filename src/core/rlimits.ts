// Resource limits (setrlimit) for the container's command: docker's --ulimit NAME=SOFT[:HARD] and
// config.json's process.rlimits, checked and written as confine's --rlimit words. Pure.
export const RLIMIT_NAMES = [
  "as",
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
] as const;
export type RlimitName = (typeof RLIMIT_NAMES)[number];

/** A limit; undefined is unlimited (RLIM_INFINITY). */
export interface Rlimit {
  readonly name: RlimitName;
  readonly soft: bigint | undefined;
  readonly hard: bigint | undefined;
}

export const rlimitName = (text: string): RlimitName | undefined =>
  RLIMIT_NAMES.find((n) => n === text.toLowerCase().replace(/^rlimit_/, ""));

const MAX = 2n ** 64n - 1n;

function value(text: string): bigint | undefined | "bad" {
  if (text === "unlimited" || text === "-1") return undefined;
  if (!/^\d{1,20}$/.test(text)) return "bad";
  const n = BigInt(text);
  return n >= MAX ? undefined : n;
}

const above = (a: bigint | undefined, b: bigint | undefined) => b !== undefined && (a === undefined || a > b);

/** NAME=SOFT[:HARD] (docker's --ulimit; HARD defaults to SOFT), or a message for what is wrong. */
export function parseUlimit(text: string): Rlimit | string {
  const m = /^([a-z_]+)=([^:]+)(?::(.+))?$/i.exec(text);
  const name = m?.[1] === undefined ? undefined : rlimitName(m[1]);
  if (m === null || name === undefined)
    return `--ulimit takes NAME=SOFT[:HARD] with a NAME of ${RLIMIT_NAMES.join(", ")}`;
  const soft = value(m[2] ?? "");
  const hard = value(m[3] ?? m[2] ?? "");
  if (soft === "bad" || hard === "bad") return `--ulimit ${text}: the limits are numbers or "unlimited"`;
  if (above(soft, hard)) return `--ulimit ${text}: the soft limit is above the hard one`;
  return { name, soft, hard };
}

/** config.json's {type: RLIMIT_NOFILE, soft, hard}, or a message for what is wrong. */
export function ociRlimit(r: {
  readonly type?: string;
  readonly soft?: number;
  readonly hard?: number;
}): Rlimit | string {
  const name = r.type === undefined ? undefined : rlimitName(r.type);
  if (name === undefined) return `process.rlimits: unknown type ${r.type ?? "(none)"}`;
  const num = (n: number | undefined) => (n === undefined || n < 0 || n >= 2 ** 64 - 1 ? undefined : BigInt(n));
  const soft = num(r.soft);
  const hard = num(r.hard);
  if (above(soft, hard)) return `process.rlimits: ${r.type ?? ""} has its soft limit above its hard one`;
  return { name, soft, hard };
}

/** confine's --rlimit word: NAME:SOFT:HARD, each limit a number or "unlimited". */
export function rlimitWord(r: Rlimit): string {
  const v = (n: bigint | undefined) => (n === undefined ? "unlimited" : String(n));
  return `${r.name}:${v(r.soft)}:${v(r.hard)}`;
}
