// Removes what a killed tsermine left beside a folder: `<name><infix><pid>` siblings whose pid is gone.
import { readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pidAlive } from "../src/host/pid-alive.js";

export async function removeStaleSiblings(dir: string, infixes: readonly string[]): Promise<void> {
  const parent = dirname(dir);
  const base = basename(dir);
  for (const entry of await readdir(parent).catch(() => [])) {
    for (const infix of infixes) {
      if (!entry.startsWith(`${base}${infix}`)) continue;
      const pid = Number(entry.slice(base.length + infix.length));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) {
        await rm(join(parent, entry), { recursive: true, force: true });
      }
    }
  }
}
