// Turns --mem-limit, --cpu-limit and --pid-max into cgroup folders and files to write: cgroup v2 when
// it offers the controllers, else the cgroup v1 hierarchies that have them. Pure.
import type { Limits } from "./run-config.js";
import { MincError } from "./errors.js";

export type Controller = "memory" | "pids" | "cpu";

export interface CgroupFacts {
  /** where cgroup2 is mounted and the controllers its root cgroup offers */
  readonly v2: { readonly mount: string; readonly controllers: readonly string[] } | undefined;
  /** the mount point of each cgroup v1 hierarchy, by the controller it carries */
  readonly v1: Readonly<Partial<Record<Controller, string>>>;
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
  return { version: 2, dirs: [parent, dir], writes, join: [`${dir}/cgroup.procs`], remove: [dir] };
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

/** The cgroups of one run (named after its tmpdir), or none without limits. */
export function planRunCgroups(
  config: { readonly limits: Limits | undefined; readonly nopriv: boolean },
  facts: CgroupFacts | undefined,
  tmpdir: string,
): CgroupPlan | undefined {
  if (config.limits === undefined) return undefined;
  if (config.nopriv) {
    throw new MincError(
      "usage",
      "--mem-limit, --cpu-limit and --pid-max need root: --nopriv gets no cgroup of its own",
      {
        hint: "wrap the run instead: systemd-run --user --scope -p MemoryMax=64M -p TasksMax=100 tsminc --nopriv ...",
      },
    );
  }
  return planCgroups(config.limits, facts ?? { v2: undefined, v1: {} }, tmpdir.slice(tmpdir.lastIndexOf("/") + 1));
}
