// tsminc gc: removes what runs killed outright (SIGKILL, a crash) left behind: helper processes and
// tmpdirs whose owner is gone (see owner.ts), and our cgroups with no process in them.
import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { CGROUP_PARENT, type CgroupFacts } from "../core/cgroup-plan.js";
import { cgroupEmpty } from "./cgroup.js";
import { ownerOf } from "./owner.js";
import { helpersOfRuns } from "./stray-helpers.js";
import { removeTmpdir, trimKeptTmpdir } from "./tmpdir.js";

/** Cleans up; returns one line per thing removed. */
export async function collectGarbage(runtimeDir: string, cgroups: CgroupFacts): Promise<string[]> {
  const done: string[] = [];
  // slirp4netns ends with its run (its --exit-fd); one that did not, its run gone, is killed first.
  for (const helper of helpersOfRuns(runtimeDir)) {
    const found = await ownerOf(helper.tmpdir);
    if (found?.alive === true) continue;
    try {
      process.kill(helper.pid, "SIGKILL");
      done.push(`killed ${helper.name} (pid ${helper.pid}) of ${helper.tmpdir}, whose run is gone`);
    } catch {
      // it ended meanwhile
    }
  }
  const names = await readdir(runtimeDir).catch(() => []);
  for (const name of names.filter((n) => n.startsWith("tsminc-"))) {
    const dir = join(runtimeDir, name);
    const found = await ownerOf(dir);
    if (found === undefined || found.alive) continue;
    const { owner } = found;
    if (owner.keep) {
      trimKeptTmpdir(dir);
      done.push(`trimmed kept tmpdir ${dir} (its run, pid ${owner.pid}, was killed)`);
    } else {
      removeTmpdir(dir);
      done.push(`removed tmpdir ${dir} (its run, pid ${owner.pid}, was killed)`);
    }
  }
  const hierarchies = [...(cgroups.v2 ? [cgroups.v2.mount] : []), ...new Set(Object.values(cgroups.v1))];
  for (const mount of hierarchies) {
    const parent = join(mount, CGROUP_PARENT);
    for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      const dir = join(parent, entry.name);
      if (!entry.isDirectory() || !(await cgroupEmpty(dir))) continue;
      // A run that is starting has its tmpdir (with a live owner) before its cgroup.
      if ((await ownerOf(join(runtimeDir, entry.name)))?.alive) continue;
      await rmdir(dir).then(
        () => done.push(`removed cgroup ${dir}`),
        () => undefined,
      );
    }
  }
  return done;
}
