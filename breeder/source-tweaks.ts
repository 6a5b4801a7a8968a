// One-line changes made in an unpacked source tree before its build (each is part of its artifact's key).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MincError } from "../src/core/errors.js";

export interface SourceTweak {
  /** the file, relative to the tree */
  readonly file: string;
  /** the text that must be there exactly once... */
  readonly from: string;
  /** ...and what it becomes */
  readonly to: string;
}

/** Applies `tweaks` to the tree at `dir` (again harmlessly when already done); `where` names the table for the hint. */
export async function applyTweaks(
  dir: string,
  tweaks: readonly SourceTweak[],
  what: string,
  where: string,
): Promise<void> {
  for (const t of tweaks) {
    const path = join(dir, t.file);
    const text = await readFile(path, "utf8");
    if (text.includes(t.to)) continue;
    if (text.split(t.from).length !== 2) {
      throw new MincError("build", `${what}'s ${t.file} is not the one tsermine knows: "${t.from}" is not there once`, {
        hint: `use the ${what} version tsermine pins (breeder/pins.ts), or update ${where}`,
      });
    }
    await writeFile(path, text.replace(t.from, t.to));
  }
}
