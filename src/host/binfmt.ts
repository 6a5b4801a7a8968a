// Reads the host's binfmt_misc handlers (/proc/sys/fs/binfmt_misc), for ns-mode runs of a foreign arch.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BINFMT_DIR, parseBinfmtEntry, type BinfmtEntry, type BinfmtFacts } from "../core/binfmt.js";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function probeBinfmt(dir: string = BINFMT_DIR): BinfmtFacts {
  const status = read(join(dir, "status"));
  if (status === undefined) return { mounted: false, enabled: false, entries: [], interpreterExists: {} };
  const entries: BinfmtEntry[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "status" || name === "register") continue;
    const text = read(join(dir, name));
    const entry = text === undefined ? undefined : parseBinfmtEntry(name, text);
    if (entry) entries.push(entry);
  }
  return {
    mounted: true,
    enabled: status.trim() === "enabled",
    entries,
    interpreterExists: Object.fromEntries(entries.map((e) => [e.interpreter, existsSync(e.interpreter)])),
  };
}
