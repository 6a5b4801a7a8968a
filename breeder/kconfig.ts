// Kconfig fragments as data: parse them, merge them in order (later wins), write them into a
// .config, and check what survived olddefconfig. Pure: no files, no processes.
import { MincError } from "../src/core/errors.js";

/** "y", "m", "n" (for "# CONFIG_X is not set"), a number, or a quoted string, as written. */
export type KconfigValue = string;

export interface Fragment {
  /** how the user refers to it (a name in kernel-configs/ or a path) */
  readonly name: string;
  /** the kbuild target to start from, from a `#@start TARGET` line */
  readonly start: string | undefined;
  readonly options: ReadonlyMap<string, KconfigValue>;
}

export interface Requested {
  readonly value: KconfigValue;
  /** the fragment whose line set this value last */
  readonly from: string;
  /** every fragment that set the symbol, in order, with its value */
  readonly history: readonly { readonly from: string; readonly value: KconfigValue }[];
}

export interface MergedConfig {
  readonly start: string;
  readonly options: ReadonlyMap<string, Requested>;
}

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# CONFIG_([A-Za-z0-9_]+) is not set\s*$/;
const START = /^#@start\s+([a-z0-9_]+)\s*$/;

export function parseFragment(name: string, text: string): Fragment {
  let start: string | undefined;
  const options = new Map<string, KconfigValue>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    const set = SET.exec(line);
    const unset = UNSET.exec(line);
    const startLine = START.exec(line);
    if (set?.[1] !== undefined && set[2] !== undefined) options.set(set[1], set[2]);
    else if (unset?.[1] !== undefined) options.set(unset[1], "n");
    else if (startLine?.[1] !== undefined) start = startLine[1];
    else if (line !== "" && !line.startsWith("#")) {
      throw new MincError("config", `${name}:${index + 1}: not a kconfig line: ${line}`, {
        hint: 'write "CONFIG_NAME=value" or "# CONFIG_NAME is not set"',
      });
    }
  });
  return { name, start, options };
}

/** Merges fragments in order: a later fragment's value (and #@start) wins. */
export function mergeFragments(fragments: readonly Fragment[], defaultStart: string): MergedConfig {
  let start = defaultStart;
  const options = new Map<string, Requested>();
  for (const fragment of fragments) {
    if (fragment.start !== undefined) start = fragment.start;
    for (const [symbol, value] of fragment.options) {
      const history = [...(options.get(symbol)?.history ?? []), { from: fragment.name, value }];
      options.set(symbol, { value, from: fragment.name, history });
    }
  }
  return { start, options };
}

/** Reads a .config into symbol → value; symbols that are not set read as "n". */
export function parseConfig(text: string): Map<string, KconfigValue> {
  return new Map(parseFragment(".config", text).options);
}

/** Rewrites `config` so every merged option has its merged value (old lines for them are dropped). */
export function applyOptions(config: string, merged: MergedConfig): string {
  const kept = config.split("\n").filter((line) => {
    const symbol = SET.exec(line)?.[1] ?? UNSET.exec(line)?.[1];
    return symbol === undefined || !merged.options.has(symbol);
  });
  const added = [...merged.options].map(([symbol, { value }]) =>
    value === "n" ? `# CONFIG_${symbol} is not set` : `CONFIG_${symbol}=${value}`,
  );
  return [...kept.filter((line, i) => line !== "" || i < kept.length - 1), ...added, ""].join("\n");
}

export interface Mismatch {
  readonly symbol: string;
  readonly wanted: KconfigValue;
  readonly got: KconfigValue;
  /** the fragment that asked for `wanted` */
  readonly wantedBy: string;
  /** a later fragment that asked for something else, if one did */
  readonly overriddenBy: string | undefined;
  /** what that fragment asked for */
  readonly overrideValue: KconfigValue | undefined;
}

export interface SurvivalReport {
  /** options of the protected fragments (base, arch) that the final config lacks */
  readonly brokenProtected: readonly Mismatch[];
  /** other requested options that olddefconfig changed (usually a dependency is off) */
  readonly dropped: readonly Mismatch[];
}

/**
 * Compares the final .config with what was asked for. An option that a protected fragment set must
 * end with that value; if it does not, the report names the later fragment that overrode it.
 */
export function checkSurvival(
  merged: MergedConfig,
  finalConfig: ReadonlyMap<string, KconfigValue>,
  protectedFragments: ReadonlySet<string>,
): SurvivalReport {
  const brokenProtected: Mismatch[] = [];
  const dropped: Mismatch[] = [];
  for (const [symbol, requested] of merged.options) {
    const got = finalConfig.get(symbol) ?? "n";
    const protectedSet = requested.history.filter((h) => protectedFragments.has(h.from)).at(-1);
    if (protectedSet !== undefined && got !== protectedSet.value) {
      const overriding = requested.history.find(
        (h) => !protectedFragments.has(h.from) && h.value !== protectedSet.value,
      );
      brokenProtected.push({
        symbol,
        wanted: protectedSet.value,
        got,
        wantedBy: protectedSet.from,
        overriddenBy: overriding?.from,
        overrideValue: overriding?.value,
      });
    } else if (protectedSet === undefined && got !== requested.value) {
      dropped.push({
        symbol,
        wanted: requested.value,
        got,
        wantedBy: requested.from,
        overriddenBy: undefined,
        overrideValue: undefined,
      });
    }
  }
  return { brokenProtected, dropped };
}

/** One line per mismatch, e.g. "CONFIG_OVERLAY_FS=y (base.config) is n: my.config sets n". */
export function describeMismatch(m: Mismatch): string {
  const why = m.overriddenBy === undefined ? "a dependency is off" : `${m.overriddenBy} sets ${m.overrideValue ?? "n"}`;
  return `CONFIG_${m.symbol}=${m.wanted} (${m.wantedBy}) is ${m.got}: ${why}`;
}
