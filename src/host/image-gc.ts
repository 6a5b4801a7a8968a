// Pruning the image store: roots and blobs no reference needs (a root a live run has mounted is
// kept), and the private folders of pulls that were killed.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ImageStore } from "./image-store.js";
import { removeTree } from "./remove-tree.js";
import { pidAlive } from "./pid-alive.js";

/** Every mount any process can see that names a path under `dir` (a run's overlay lower, or its bind). */
export function mountedUnder(dir: string): string {
  let text = "";
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const lines = readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n");
      text += lines.filter((l) => l.includes(dir)).join("\n");
    } catch {
      // gone, or not ours to read
    }
  }
  return text;
}

/** Removes what no record needs; returns a line per thing removed. */
export function pruneImages(store: ImageStore): string[] {
  const done: string[] = [];
  const records = store.records();
  const roots = new Set(records.map((r) => r.root.replace(/^sha256:/, "")));
  const blobs = new Set(records.flatMap((r) => [r.root, ...r.layers]).map((d) => d.replace(/^sha256:/, "")));
  const rootsDir = join(store.dir, "roots");
  const mounts = mountedUnder(rootsDir);
  for (const name of readdirSync(rootsDir)) {
    if (roots.has(name)) continue;
    if (mounts.includes(join(rootsDir, name))) {
      done.push(`kept image root ${name.slice(0, 12)}: a running container uses it`);
      continue;
    }
    removeTree(join(rootsDir, name));
    done.push(`removed image root ${name.slice(0, 12)}`);
  }
  const blobsDir = join(store.dir, "blobs", "sha256");
  for (const name of readdirSync(blobsDir)) {
    // .partial files stay: a killed pull resumes from them
    if (!/^[0-9a-f]{64}$/.test(name) || blobs.has(name)) continue;
    rmSync(join(blobsDir, name), { force: true });
    done.push(`removed blob ${name.slice(0, 12)}`);
  }
  const tmpDir = join(store.dir, "tmp");
  for (const name of readdirSync(tmpDir)) {
    const pid = Number(name.split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) continue;
    removeTree(join(tmpDir, name));
    done.push(`removed an unfinished unpack ${name}`);
  }
  return done;
}
