// The cgroups a process is in, as cgroup.procs files on this host (v1 hierarchies and v2), so that
// another process can join them: ns mode's exec joins the container's (its limits, its devices).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface CgroupMount {
  readonly point: string;
  readonly v2: boolean;
  readonly controllers: readonly string[];
}

const unescape = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

function cgroupMounts(): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left = "", right = ""] = line.split(" - ");
    const fields = left.split(" ");
    const [fstype, , options = ""] = right.split(" ");
    if (fields[3] !== "/" || (fstype !== "cgroup" && fstype !== "cgroup2")) continue;
    out.push({ point: unescape(fields[4] ?? ""), v2: fstype === "cgroup2", controllers: options.split(",") });
  }
  return out;
}

/** The cgroup.procs files of `pid`'s cgroups below each hierarchy's root (root cgroups are left out). */
export function cgroupProcsFiles(pid: number): string[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch {
    return [];
  }
  const mounts = cgroupMounts();
  const files = new Set<string>();
  for (const line of text.trim().split("\n")) {
    const [, controllers = "", path = "/"] = line.split(/:(.*?):/);
    if (path === "/") continue;
    const wanted = controllers.split(",").filter((c) => c !== "");
    const mount = mounts.find((m) =>
      controllers === "" ? m.v2 : !m.v2 && wanted.every((c) => m.controllers.includes(c)),
    );
    const file = mount === undefined ? undefined : join(mount.point, path, "cgroup.procs");
    if (file !== undefined && existsSync(file)) files.add(file);
  }
  return [...files];
}
