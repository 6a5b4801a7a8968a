// Finds the host's cgroup hierarchies, and makes and removes a run's cgroups as planned.
import { readFile } from "node:fs/promises";
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import type { CgroupFacts, CgroupPlan, V1Controller } from "../core/cgroup-plan.js";
import { MincError } from "../core/errors.js";

const CONTROLLERS: readonly V1Controller[] = ["memory", "pids", "cpu", "devices"];

/** Mount points of cgroup2 and of the v1 hierarchies, from /proc/self/mountinfo. */
export function probeCgroups(mountinfo: string = readFileSync("/proc/self/mountinfo", "utf8")): CgroupFacts {
  let v2: CgroupFacts["v2"];
  const v1: Partial<Record<V1Controller, string>> = {};
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    const mountPoint = left?.split(" ")[4];
    const [fstype, , superOptions] = (right ?? "").split(" ");
    if (mountPoint === undefined) continue;
    if (fstype === "cgroup2" && v2 === undefined) {
      let controllers: string[] = [];
      try {
        controllers = readFileSync(`${mountPoint}/cgroup.controllers`, "utf8").trim().split(/\s+/).filter(Boolean);
      } catch {
        // unreadable: offers nothing
      }
      v2 = { mount: mountPoint, controllers };
    } else if (fstype === "cgroup") {
      const options = (superOptions ?? "").split(",");
      for (const c of CONTROLLERS) if (options.includes(c)) v1[c] ??= mountPoint;
    }
  }
  return { v2, v1 };
}

const failed = (what: string, cause: unknown) =>
  new MincError("system", `cannot set up the run's cgroup: ${what}: ${(cause as Error).message}`, {
    cause,
    hint: "check that the cgroup controller is delegated to you, or drop the limit options",
  });

// Synchronous, as the tmpdir's work is: the first asynchronous file operation starts libuv's thread
// pool, a few milliseconds of an ns-mode run that does everything else without it.
export function applyCgroups(plan: CgroupPlan): void {
  for (const dir of plan.dirs) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw failed(`mkdir ${dir}`, err);
    }
  }
  for (const { file, value, optional } of plan.writes) {
    try {
      // Controllers already enabled are fine to enable again.
      writeFileSync(file, value);
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw failed(`${value} > ${file}`, err);
    }
  }
}

/** Waits `ms` without returning to the event loop. */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Removes the run's cgroups; their last processes may take a moment to be reaped. */
export function removeCgroups(plan: CgroupPlan): void {
  for (const dir of plan.remove) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        if (code !== "EBUSY" || attempt >= 50) throw failed(`rmdir ${dir}`, err);
        pause(20);
      }
    }
  }
}

/** Whether a cgroup folder holds no process. */
export async function cgroupEmpty(dir: string): Promise<boolean> {
  const procs = await readFile(`${dir}/cgroup.procs`, "utf8").catch(() => "");
  return procs.trim() === "";
}
