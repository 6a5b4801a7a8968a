// The owner file of a run's tmpdir: which tsminc process uses it, so tsminc gc can tell stale ones.
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export const OWNER_FILE = "owner";

interface Owner {
  readonly pid: number;
  /** the process's start time (/proc/PID/stat field 22): a reused pid does not match */
  readonly start: string;
  /** a -k run: its writes are kept, only our files go */
  readonly keep: boolean;
}

/** The start time (/proc/PID/stat field 22) of a process that still runs; a zombie has ended. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export function writeOwner(tmpdir: string, keep: boolean): void {
  const owner: Owner = { pid: process.pid, start: startTime(process.pid) ?? "", keep };
  writeFileSync(join(tmpdir, OWNER_FILE), JSON.stringify(owner));
}

/** A tmpdir's owner and whether it still runs; undefined without an owner file (kept with -k, or being made). */
export async function ownerOf(tmpdir: string): Promise<{ owner: Owner; alive: boolean } | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(tmpdir, OWNER_FILE), "utf8")) as Owner;
    return { owner, alive: startTime(owner.pid) === owner.start };
  } catch {
    return undefined;
  }
}
