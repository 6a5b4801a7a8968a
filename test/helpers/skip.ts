// Skipping a test for a missing host capability: the reason is printed at run time, then the skip.
import type { TestContext } from "node:test";

export function skipBecause(t: TestContext, why: string): void {
  process.stderr.write(`# skipped: ${why}\n`);
  t.skip(why);
}
