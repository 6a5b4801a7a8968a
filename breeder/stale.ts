// Removes what a killed tsermine left beside a folder: `<name><infix><pid>` siblings whose pid is gone.
import { readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function removeStaleSiblings(dir: string, infixes: readonly string[]): Promise<void> {
  const parent = dirname(dir);
  const base = basename(dir);
  for (const entry of await readdir(parent).catch(() => [])) {
    for (const infix of infixes) {
      if (!entry.startsWith(`${base}${infix}`)) continue;
      const pid = Number(entry.slice(base.length + infix.length));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
        await rm(join(parent, entry), { recursive: true, force: true });
      }
    }
  }
}
