// tsminc snapshot ls, tsminc snapshot rm KEY... | --all: the saved ermines warm start resumes
// (~/.cache/tsminc/snapshots). They print; tsminc.ts sets the exit status.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { MincError } from "../core/errors.js";
import { cacheDir } from "../host/paths.js";
import { listSnapshots } from "../host/snapshot-store.js";

const USAGE = "tsminc snapshot ls | tsminc snapshot rm KEY... | tsminc snapshot rm --all";

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function snapshotCommand(args: readonly string[]): Promise<void> {
  const dir = join(cacheDir(), "snapshots");
  const [verb, ...rest] = args;
  const entries = await listSnapshots(dir);
  if (verb === "ls" && rest.length === 0) {
    for (const e of entries) {
      const what =
        e.record === undefined ? "incomplete (a save under way, or killed)" : `${e.record.what}, ${e.record.created}`;
      process.stdout.write(`${e.key}  ${mib(e.bytes).padStart(9)}  ${what}\n`);
    }
    process.stdout.write(`${entries.length} snapshot(s) in ${dir}\n`);
    return;
  }
  if (verb === "rm" && rest.length > 0) {
    const all = rest.length === 1 && rest[0] === "--all";
    const unknown = all ? [] : rest.filter((k) => !entries.some((e) => e.key === k));
    if (unknown.length > 0)
      throw new MincError("usage", `no snapshot ${unknown.join(", ")} in ${dir}`, { hint: "see tsminc snapshot ls" });
    for (const e of entries.filter((x) => all || rest.includes(x.key))) {
      for (const f of e.files) rmSync(f, { force: true });
      process.stdout.write(`removed ${e.key}\n`);
    }
    return;
  }
  throw new MincError("usage", `tsminc snapshot: expected ls or rm`, { hint: USAGE });
}
