// tsermine breed's options, validated into one BuildConfig. Pure: facts about the host are passed in.
import { resolve } from "node:path";
import { ARCH_NAMES, lookupArch, type ArchName } from "../src/core/arch.js";
import { MincError } from "../src/core/errors.js";
import type { SourcesMode } from "./sources.js";

export interface RawBreedOptions {
  readonly arch?: string;
  readonly config?: readonly string[];
  readonly sources?: string;
  readonly jobs?: string;
  readonly rebuild?: boolean;
  readonly out?: string;
}

export interface BuildConfig {
  readonly arches: readonly ArchName[];
  /** --config values as given: names in kernel-configs/ or paths */
  readonly configs: readonly string[];
  readonly sources: SourcesMode;
  readonly jobs: number;
  readonly rebuild: boolean;
  readonly outDir: string;
}

export interface BuildFacts {
  readonly cpus: number;
  readonly defaultOutDir: string;
  readonly isDirectory: (path: string) => boolean;
}

export const DEFAULT_CONFIG = "smallconfig";

function parseArches(text: string): ArchName[] {
  if (text === "all") return [...ARCH_NAMES];
  const arch = lookupArch(text);
  if (arch === undefined) {
    throw new MincError("usage", `unknown arch "${text}"`, { hint: `use --arch ${[...ARCH_NAMES, "all"].join("|")}` });
  }
  return [arch];
}

export function parseSources(text: string, isDirectory: (p: string) => boolean): SourcesMode {
  if (text === "auto" || text === "upstream" || text === "debian") return { kind: text };
  if (/^https?:\/\//.test(text)) return { kind: "url", url: text };
  if (isDirectory(text)) return { kind: "dir", dir: resolve(text) };
  throw new MincError(
    "usage",
    `unknown --sources value "${text}": not auto, upstream, debian, an http(s) URL or a folder`,
    {
      hint: "use --sources auto|upstream|debian|DIR|URL",
    },
  );
}

function parseJobs(text: string): number {
  const jobs = Number(text);
  if (!/^\d+$/.test(text) || jobs < 1 || jobs > 1024) {
    throw new MincError("usage", `--jobs takes a whole number from 1 to 1024, not "${text}"`, {
      hint: "e.g. --jobs 4",
    });
  }
  return jobs;
}

export function toBuildConfig(raw: RawBreedOptions, facts: BuildFacts): BuildConfig {
  return {
    arches: parseArches(raw.arch ?? "x86_64"),
    configs: raw.config && raw.config.length > 0 ? [...raw.config] : [DEFAULT_CONFIG],
    sources: parseSources(raw.sources ?? "auto", facts.isDirectory),
    jobs: raw.jobs === undefined ? facts.cpus : parseJobs(raw.jobs),
    rebuild: raw.rebuild ?? false,
    outDir: resolve(raw.out ?? facts.defaultOutDir),
  };
}
