// Turns --mem-limit, --cpu-limit and --pid-max into cgroup folders and files to write: cgroup v2 when
// it offers the controllers, else the cgroup v1 hierarchies that have them; and the cgroup v2 folder
// whose BPF program filters an ns-mode container's devices (any cgroup2 mount will do, hybrid ones
// without controllers too). Pure.
import type { Limits } from "./run-config.js";
import { MincError } from "./errors.js";

/** The controllers limits use; "devices" (cgroup v1) is the device filter's where cgroup2 is missing. */
export type Controller = "memory" | "pids" | "cpu";
export type V1Controller = Controller | "devices";

export interface CgroupFacts {
  /** where cgroup2 is mounted and the controllers its root cgroup offers */
  readonly v2: { readonly mount: string; readonly controllers: readonly string[] } | undefined;
  /** the mount point of each cgroup v1 hierarchy, by the controller it carries */
  readonly v1: Readonly<Partial<Record<V1Controller, string>>>;
}

export interface CgroupWrite {
  readonly file: string;
  readonly value: string;
  /** absent on some kernels (swap accounting off): skipped then */
  readonly optional?: boolean;
}

export interface CgroupPlan {
  readonly version: 1 | 2;
  /** folders to make, in order; existing ones are fine */
  readonly dirs: readonly string[];
  readonly writes: readonly CgroupWrite[];
  /** the cgroup.procs files the chain's first process joins before anything else runs */
  readonly join: readonly string[];
  /** folders to remove when the run is over */
  readonly remove: readonly string[];
  /** the cgroup v2 folder the device filter is attached to (the container joins it with the rest) */
  readonly devices: string | undefined;
}

/** Our cgroups live in <hierarchy>/tsminc/<run id>, where tsminc gc finds stale ones. */
export const CGROUP_PARENT = "tsminc";
const PERIOD_US = 100_000;

function needed(limits: Limits): Controller[] {
  return [
    ...(limits.memBytes === undefined ? [] : ["memory" as const]),
    ...(limits.pids === undefined ? [] : ["pids" as const]),
    ...(limits.cpus === undefined ? [] : ["cpu" as const]),
  ];
}

const quota = (cpus: number) => String(Math.round(cpus * PERIOD_US));

function planV2(limits: Limits, mount: string, controllers: Controller[], runId: string): CgroupPlan {
  const parent = `${mount}/${CGROUP_PARENT}`;
  const dir = `${parent}/${runId}`;
  const enable = controllers.map((c) => `+${c}`).join(" ");
  const writes: CgroupWrite[] = [
    // A cgroup's limits need its controllers enabled in every ancestor's subtree_control.
    { file: `${mount}/cgroup.subtree_control`, value: enable },
    { file: `${parent}/cgroup.subtree_control`, value: enable },
  ];
  if (limits.memBytes !== undefined) {
    writes.push({ file: `${dir}/memory.max`, value: String(limits.memBytes) });
    writes.push({ file: `${dir}/memory.swap.max`, value: "0", optional: true });
  }
  if (limits.pids !== undefined) writes.push({ file: `${dir}/pids.max`, value: String(limits.pids) });
  if (limits.cpus !== undefined) writes.push({ file: `${dir}/cpu.max`, value: `${quota(limits.cpus)} ${PERIOD_US}` });
  return { version: 2, dirs: [parent, dir], writes, join: [`${dir}/cgroup.procs`], remove: [dir], devices: undefined };
}

function planV1(limits: Limits, mounts: Record<Controller, string>, controllers: Controller[], runId: string) {
  const dirOf = (c: Controller) => `${mounts[c]}/${CGROUP_PARENT}/${runId}`;
  const writes: CgroupWrite[] = [];
  if (limits.memBytes !== undefined) {
    writes.push({ file: `${dirOf("memory")}/memory.limit_in_bytes`, value: String(limits.memBytes) });
    // With swap accounting, memory plus swap gets the same cap: no swapping around the limit.
    writes.push({
      file: `${dirOf("memory")}/memory.memsw.limit_in_bytes`,
      value: String(limits.memBytes),
      optional: true,
    });
  }
  if (limits.pids !== undefined) writes.push({ file: `${dirOf("pids")}/pids.max`, value: String(limits.pids) });
  if (limits.cpus !== undefined) {
    writes.push({ file: `${dirOf("cpu")}/cpu.cfs_period_us`, value: String(PERIOD_US) });
    writes.push({ file: `${dirOf("cpu")}/cpu.cfs_quota_us`, value: quota(limits.cpus) });
  }
  const dirs = [...new Set(controllers.map(dirOf))];
  return {
    version: 1 as const,
    dirs: dirs.flatMap((d) => [d.slice(0, d.lastIndexOf("/")), d]),
    writes,
    join: dirs.map((d) => `${d}/cgroup.procs`),
    remove: dirs,
    devices: undefined,
  };
}

export function planCgroups(limits: Limits, facts: CgroupFacts, runId: string): CgroupPlan {
  const controllers = needed(limits);
  const { v2 } = facts;
  if (v2 !== undefined && controllers.every((c) => v2.controllers.includes(c))) {
    return planV2(limits, v2.mount, controllers, runId);
  }
  const missing = controllers.filter((c) => facts.v1[c] === undefined);
  if (missing.length === 0) return planV1(limits, facts.v1 as Record<Controller, string>, controllers, runId);
  const first = missing[0] ?? "memory";
  const option = { memory: "--mem-limit", pids: "--pid-max", cpu: "--cpu-limit" }[first];
  const where =
    v2 === undefined
      ? "no cgroup v2 is mounted and no cgroup v1 hierarchy has it"
      : `cgroup v2 at ${v2.mount} does not offer it (not delegated, or bound to cgroup v1) and no cgroup v1 hierarchy has it`;
  throw new MincError("usage", `${option} needs the cgroup ${first} controller: ${where}`, {
    hint: `enable it (e.g. boot with systemd.unified_cgroup_hierarchy=1), or drop ${option}`,
  });
}

/**
 * Adds the run's cgroup for the device filter: a cgroup v2 folder (a BPF program; the limits' own
 * folder when they are on v2), else one in the v1 devices hierarchy (its deny and allow lists).
 */
function withDevices(plan: CgroupPlan | undefined, facts: CgroupFacts, runId: string): CgroupPlan {
  const mount = facts.v2?.mount ?? facts.v1.devices;
  if (mount === undefined) {
    throw new MincError(
      "missing-tool",
      "the container's device filter needs a cgroup: no cgroup2 is mounted, nor the cgroup v1 devices controller",
      {
        hint: "mount one (mount -t cgroup2 none /sys/fs/cgroup/unified), or use --usedev or --privileged to run without the filter",
      },
    );
  }
  if (plan?.version === 2 && facts.v2 !== undefined) return { ...plan, devices: `${mount}/${CGROUP_PARENT}/${runId}` };
  const parent = `${mount}/${CGROUP_PARENT}`;
  const dir = `${parent}/${runId}`;
  return {
    version: plan?.version ?? 2,
    dirs: [...(plan?.dirs ?? []), parent, dir],
    writes: plan?.writes ?? [],
    join: [...(plan?.join ?? []), `${dir}/cgroup.procs`],
    remove: [...(plan?.remove ?? []), dir],
    devices: dir,
  };
}

/**
 * The cgroups of one run (named after its tmpdir): for its limits, and for the device filter of an
 * ns-mode container (`devices`); none when it needs neither.
 */
export function planRunCgroups(
  limits: Limits | undefined,
  facts: CgroupFacts | undefined,
  tmpdir: string,
  devices = false,
): CgroupPlan | undefined {
  const runId = tmpdir.slice(tmpdir.lastIndexOf("/") + 1);
  const known = facts ?? { v2: undefined, v1: {} };
  const plan = limits === undefined ? undefined : planCgroups(limits, known, runId);
  return devices ? withDevices(plan, known, runId) : plan;
}
