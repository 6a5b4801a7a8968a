// The cgroup planner: v2 when it offers the controllers, else v1 hierarchies, else a one-line error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { planCgroups, planRunCgroups, type CgroupFacts } from "../../src/core/cgroup-plan.js";
import { MincError } from "../../src/core/errors.js";
import { probeCgroups } from "../../src/host/cgroup.js";

const all = { memBytes: 32 * 2 ** 20, cpus: 0.5, pids: 20 };
const v2: CgroupFacts = { v2: { mount: "/sys/fs/cgroup", controllers: ["cpuset", "cpu", "memory", "pids"] }, v1: {} };
const v1: CgroupFacts = {
  v2: { mount: "/sys/fs/cgroup/unified", controllers: [] },
  v1: { memory: "/sys/fs/cgroup/memory", pids: "/sys/fs/cgroup/pids", cpu: "/sys/fs/cgroup/cpu,cpuacct" },
};

test("cgroup v2: controllers enabled down the tree, limits in tsminc/<run>, the chain joins it", () => {
  const p = planCgroups(all, v2, "tsminc-T");
  assert.equal(p.version, 2);
  assert.deepEqual(p.dirs, ["/sys/fs/cgroup/tsminc", "/sys/fs/cgroup/tsminc/tsminc-T"]);
  assert.deepEqual(p.writes, [
    { file: "/sys/fs/cgroup/cgroup.subtree_control", value: "+memory +pids +cpu" },
    { file: "/sys/fs/cgroup/tsminc/cgroup.subtree_control", value: "+memory +pids +cpu" },
    { file: "/sys/fs/cgroup/tsminc/tsminc-T/memory.max", value: "33554432" },
    { file: "/sys/fs/cgroup/tsminc/tsminc-T/memory.swap.max", value: "0", optional: true },
    { file: "/sys/fs/cgroup/tsminc/tsminc-T/pids.max", value: "20" },
    { file: "/sys/fs/cgroup/tsminc/tsminc-T/cpu.max", value: "50000 100000" },
  ]);
  assert.deepEqual(p.join, ["/sys/fs/cgroup/tsminc/tsminc-T/cgroup.procs"]);
  assert.deepEqual(p.remove, ["/sys/fs/cgroup/tsminc/tsminc-T"]);
});

test("only the controllers a limit needs are enabled", () => {
  const p = planCgroups({ memBytes: undefined, cpus: undefined, pids: 5 }, v2, "r");
  assert.equal(p.writes[0]?.value, "+pids");
  assert.equal(p.writes.length, 3);
});

test("cgroup v1 when v2 lacks a controller: one folder per hierarchy, each joined", () => {
  const p = planCgroups(all, v1, "tsminc-T");
  assert.equal(p.version, 1);
  assert.deepEqual(p.join, [
    "/sys/fs/cgroup/memory/tsminc/tsminc-T/cgroup.procs",
    "/sys/fs/cgroup/pids/tsminc/tsminc-T/cgroup.procs",
    "/sys/fs/cgroup/cpu,cpuacct/tsminc/tsminc-T/cgroup.procs",
  ]);
  assert.deepEqual(
    p.writes.map((w) => `${w.file.split("/").pop() ?? ""}=${w.value}`),
    [
      "memory.limit_in_bytes=33554432",
      "memory.memsw.limit_in_bytes=33554432",
      "pids.max=20",
      "cpu.cfs_period_us=100000",
      "cpu.cfs_quota_us=50000",
    ],
  );
  assert.equal(p.dirs[0], "/sys/fs/cgroup/memory/tsminc");
});

test("no hierarchy with the controller: a one-line error naming the option and a hint", () => {
  const none: CgroupFacts = { v2: { mount: "/sys/fs/cgroup", controllers: ["pids"] }, v1: {} };
  assert.throws(
    () => planCgroups(all, none, "r"),
    (e: unknown) =>
      e instanceof MincError &&
      /^--mem-limit needs the cgroup memory controller: cgroup v2 at \/sys\/fs\/cgroup does not offer it/.test(
        e.message,
      ) &&
      (e.hint ?? "").includes("drop --mem-limit"),
  );
  assert.throws(() => planCgroups(all, { v2: undefined, v1: {} }, "r"), /no cgroup v2 is mounted/);
});

test("a run's cgroups: none without limits or a device filter; named after its tmpdir", () => {
  assert.equal(planRunCgroups(undefined, v2, "/t"), undefined);
  assert.deepEqual(planRunCgroups(all, v2, "/run/tsminc/tsminc-T")?.remove, ["/sys/fs/cgroup/tsminc/tsminc-T"]);
});

test("the device filter's cgroup: the limits' own on v2; a v2 folder of its own beside v1 limits", () => {
  const onV2 = planRunCgroups(all, v2, "/run/tsminc/tsminc-T", true) ?? assert.fail("no plan");
  assert.equal(onV2.devices, "/sys/fs/cgroup/tsminc/tsminc-T");
  assert.deepEqual(onV2.join, ["/sys/fs/cgroup/tsminc/tsminc-T/cgroup.procs"]);
  // This project's machines: v1 controllers, a cgroup2 mount without any (hybrid).
  const hybrid = {
    v2: { mount: "/sys/fs/cgroup/unified", controllers: [] },
    v1: { memory: "/sys/fs/cgroup/memory", pids: "/sys/fs/cgroup/pids", cpu: "/sys/fs/cgroup/cpu" },
  };
  const p =
    planRunCgroups({ memBytes: 2 ** 26, cpus: undefined, pids: undefined }, hybrid, "/run/tsminc/tsminc-T", true) ??
    assert.fail("no plan");
  assert.equal(p.devices, "/sys/fs/cgroup/unified/tsminc/tsminc-T");
  assert.deepEqual(p.join, [
    "/sys/fs/cgroup/memory/tsminc/tsminc-T/cgroup.procs",
    "/sys/fs/cgroup/unified/tsminc/tsminc-T/cgroup.procs",
  ]);
  assert.deepEqual(p.remove, ["/sys/fs/cgroup/memory/tsminc/tsminc-T", "/sys/fs/cgroup/unified/tsminc/tsminc-T"]);
  const devicesOnly = planRunCgroups(undefined, hybrid, "/run/tsminc/tsminc-T", true) ?? assert.fail("no plan");
  assert.deepEqual(devicesOnly.dirs, ["/sys/fs/cgroup/unified/tsminc", "/sys/fs/cgroup/unified/tsminc/tsminc-T"]);
  assert.deepEqual(devicesOnly.writes, []);
  // A host with cgroup v1 only: the devices controller's folder, whose lists confine writes.
  const v1Only = { v2: undefined, v1: { ...hybrid.v1, devices: "/sys/fs/cgroup/devices" } };
  assert.equal(
    planRunCgroups(undefined, v1Only, "/run/tsminc/tsminc-T", true)?.devices,
    "/sys/fs/cgroup/devices/tsminc/tsminc-T",
  );
  assert.throws(
    () => planRunCgroups(undefined, { v2: undefined, v1: hybrid.v1 }, "/t", true),
    (e: unknown) =>
      e instanceof MincError && /no cgroup2 is mounted/.test(e.message) && /--privileged/.test(e.hint ?? ""),
  );
});

test("probeCgroups reads v1 hierarchies (co-mounted too) and the cgroup2 mount from mountinfo", () => {
  const mountinfo = [
    "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory",
    "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct",
    "32 25 0:28 / /sys/fs/cgroup/pids rw,relatime shared:11 - cgroup cgroup rw,pids",
    "33 25 0:29 / /nonexistent/unified rw,relatime shared:12 - cgroup2 cgroup2 rw",
  ].join("\n");
  assert.deepEqual(probeCgroups(mountinfo), {
    v2: { mount: "/nonexistent/unified", controllers: [] },
    v1: { memory: "/sys/fs/cgroup/memory", cpu: "/sys/fs/cgroup/cpu,cpuacct", pids: "/sys/fs/cgroup/pids" },
  });
});
