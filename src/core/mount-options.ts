// The options a container's own mounts take (a bind's flags, a tmpfs's mount options), checked word
// by word from the CLI's and config.json's spellings, so enter.sh only ever sees known words. Pure.
import { BIND_FLAGS, type BindFlag } from "./run-config.js";

/** mount(8) words that only restate a fresh mount's default or its propagation (ours are private). */
const NEUTRAL = new Set([
  "rw",
  "suid",
  "dev",
  "exec",
  "bind",
  "rbind",
  "private",
  "rprivate",
  "slave",
  "rslave",
  "shared",
  "rshared",
  "unbindable",
  "runbindable",
  "relatime",
  "norelatime",
]);

const TMPFS_VALUE = /^(size=\d+[kmg%]?|nr_inodes=\d+[kmg]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+)$/;

export type OptionsResult<T> = { readonly ok: T } | { readonly bad: string };

/** A bind's flags from mount words: ro, nosuid, nodev, noexec kept, neutral words dropped. */
export function bindFlags(words: readonly string[]): OptionsResult<BindFlag[]> {
  const flags: BindFlag[] = [];
  for (const w of words) {
    const flag = BIND_FLAGS.find((f) => f === w);
    if (flag !== undefined) {
      if (!flags.includes(flag)) flags.push(flag);
    } else if (!NEUTRAL.has(w)) return { bad: w };
  }
  return { ok: flags };
}

/** A tmpfs's mount options from mount words: ro, nosuid, nodev, noexec, size=, nr_inodes=, mode=, uid=, gid=. */
export function tmpfsOptions(words: readonly string[]): OptionsResult<string> {
  const out: string[] = [];
  for (const w of words) {
    if (["ro", "nosuid", "nodev", "noexec"].includes(w) || TMPFS_VALUE.test(w)) {
      if (!out.includes(w)) out.push(w);
    } else if (!NEUTRAL.has(w)) return { bad: w };
  }
  return { ok: out.join(",") };
}

/** docker's --tmpfs defaults: nosuid, nodev, and noexec unless `exec` is given. */
export function withTmpfsDefaults(words: readonly string[]): string[] {
  return ["nosuid", "nodev", ...(words.includes("exec") ? [] : ["noexec"]), ...words];
}
