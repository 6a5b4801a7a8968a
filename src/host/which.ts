// Finds programs on PATH, the way a shell would, without running anything.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export function which(program: string, path: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
