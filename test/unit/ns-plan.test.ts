// The ns-mode planner (no --qemu): the same checks as vm mode, the entry chain, what it refuses,
// and a whole argv pinned as a golden file.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { toRunConfig, type RawRunOptions } from "../../src/config/from-flags.js";
import { MincError } from "../../src/core/errors.js";
import type { HostFacts } from "../../src/core/host-facts.js";
import { planNs, type NsPlan } from "../../src/core/ns-plan.js";
import { packageRoot } from "../../src/host/paths.js";
import { facts } from "../helpers/facts.js";

const plan = (raw: RawRunOptions, over: Partial<HostFacts> = {}, command = ["true"]) =>
  planNs(toRunConfig({ rootdir: "/r", ...raw }, command, "/"), facts(over), "/run/tsminc/tsminc-T");

test("the chain: the image's nsrun (hostname, tmpdir, rootfs), then enter.sh --inside by the image's busybox", () => {
  const p = plan({ name: "box", nocaps: "net_raw", bind: ["/srv/dir:/d"] });
  assert.equal(p.file, "/img/x86_64/nsrun");
  assert.deepEqual(p.args, [
    "--hostname",
    "box",
    // The container's cgroup, whose device filter confine attaches at the end.
    "--cgroup",
    "/sys/fs/cgroup/tsminc/tsminc-T/cgroup.procs",
    "/run/tsminc/tsminc-T",
    "/r",
    "--",
    "/img/x86_64/busybox",
    "sh",
    "/pkg/guest-init/enter.sh",
    "--inside",
    "--stdio",
    "inherit",
    "--confine",
    "/img/x86_64/confine",
    "--env",
    "/run/tsminc/tsminc-T/env",
    "--mounts",
    "/run/tsminc/tsminc-T/mounts.list",
    // docker's default set without NET_RAW, /proc and /sys masked, the seccomp and device filters.
    "--caps",
    "a80405fb",
    "--mask",
    "--seccomp",
    "--devices-cgroup",
    "/sys/fs/cgroup/tsminc/tsminc-T",
    "/run/tsminc/tsminc-T/root",
    "/run/tsminc/tsminc-T/args",
  ]);
  assert.deepEqual(p.files.mounts, Buffer.from("bind\0/srv/dir\0/d\0\0"));
});

test("--network engine: nsrun joins the engine's namespace, and makes none of its own", () => {
  const config = {
    ...toRunConfig({ rootdir: "/r" }, ["true"], "/"),
    network: "engine" as const,
    netns: "/run/netns/cni-1",
  };
  const p = planNs(config, facts(), "/run/tsminc/tsminc-T");
  const front = p.args.slice(0, p.args.indexOf("--"));
  assert.deepEqual(front.slice(0, 2), ["--netns", "/run/netns/cni-1"]);
  assert.ok(!front.includes("--net") && !p.args.includes("--net"));
});

test("nsrun's options, one at a time: --net, --direct, --nopriv's --user", () => {
  const front = (p: ReturnType<typeof plan>) => p.args.slice(0, p.args.indexOf("--"));
  const rest = ["--cgroup", "/sys/fs/cgroup/tsminc/tsminc-T/cgroup.procs", "/run/tsminc/tsminc-T", "/r"];
  assert.deepEqual(front(plan({ net: true })), ["--net", ...rest]);
  assert.deepEqual(front(plan({ direct: true })), ["--direct", ...rest]);
  assert.deepEqual(front(plan({})), rest);
  // --privileged and --usedev have no device filter, so no cgroup.
  assert.deepEqual(front(plan({ privileged: true })), ["/run/tsminc/tsminc-T", "/r"]);
  assert.deepEqual(front(plan({ usedev: true })), ["/run/tsminc/tsminc-T", "/r"]);
  // --net also reaches enter.sh, which brings the loopback up inside.
  assert.ok(plan({ net: true }).args.slice(3).includes("--net"));
});

test("the arguments go NUL-separated into a file; no command means /bin/sh", () => {
  assert.deepEqual(plan({}, {}, ["a b", ""]).files.args, Buffer.from("a b\0\0"));
  assert.deepEqual(plan({}, {}, []).files.args, Buffer.from("/bin/sh\0"));
});

test("refused: no image for its busybox, not root, a foreign rootfs without binfmt_misc", () => {
  const refused = (raw: RawRunOptions, over: Partial<HostFacts>, message: RegExp, hint: RegExp) => {
    assert.throws(
      () => plan(raw, over),
      (err: unknown) => err instanceof MincError && message.test(err.message) && hint.test(err.hint ?? ""),
    );
  };
  refused({}, { rootfsArch: { arch: "arm64" } }, /arm64 rootfs on this x86_64 host without a VM/, /--qemu/);
  refused(
    {},
    { images: {} },
    /ns mode runs the container's entry with the static busybox/,
    /tsermine breed --arch x86_64/,
  );
  refused({}, { uid: 1000 }, /needs root/, /sudo/);
  refused(
    { memLimit: "32M" },
    { cgroups: { v2: undefined, v1: {} } },
    /--mem-limit needs the cgroup memory controller/,
    /drop/,
  );
});

test("limits: nsrun joins the run's cgroups before enter.sh starts; --no-init reaches enter.sh", () => {
  const p = plan({ pidMax: "20", init: false });
  assert.deepEqual(p.args.slice(0, 3), [
    "--cgroup",
    "/sys/fs/cgroup/tsminc/tsminc-T/cgroup.procs",
    "/run/tsminc/tsminc-T",
  ]);
  assert.ok(p.args.includes("--no-init"));
  assert.deepEqual(p.cgroup?.remove, ["/sys/fs/cgroup/tsminc/tsminc-T"]);
});

test("--nopriv: nsrun makes a user namespace mapping the caller to root, and enter.sh is told", () => {
  const p = planNs(toRunConfig({ nopriv: "/home/u/root" }, ["true"], "/"), facts({ uid: 1000 }), "/tmp/tsminc-1000/t");
  assert.deepEqual(p.args.slice(0, 4), ["--user", "/tmp/tsminc-1000/t", "/home/u/root", "--"]);
  assert.ok(p.args.includes("--nopriv"));
});

test("the chain runs with PATH alone; the container's environment is a file of its own, TERM only on a terminal", () => {
  const piped = plan({});
  assert.deepEqual(piped.env, { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" });
  assert.equal(piped.args[piped.args.indexOf("--env") + 1], "/run/tsminc/tsminc-T/env");
  const entries = (p: NsPlan) => p.files.env.toString().split("\0").slice(0, -1);
  assert.deepEqual(entries(piped), ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"]);
  assert.ok(entries(plan({}, { stdinTty: true, term: "screen" })).includes("TERM=screen"));
  assert.ok(!entries(plan({}, { stdinTty: true, term: undefined })).some((e) => e.startsWith("TERM=")));
  // -e entries replace the defaults in place, and reach the file byte for byte
  const custom = entries(
    plan({ env: ["HOME=/h", "A=x y\nz", "PATH=/p"], user: "7" }, { stdinTty: true, term: "vt100" }),
  );
  assert.deepEqual(custom, ["PATH=/p", "HOME=/h", "TERM=vt100", "A=x y\nz"]);
  const withPath = plan({ env: ["PATH=/p"], workdir: "/w d" });
  assert.deepEqual(withPath.args.slice(withPath.args.indexOf("--path"), withPath.args.indexOf("--path") + 4), [
    "--path",
    "/p",
    "--workdir",
    "/w d",
  ]);
});

test("--nopriv --name: the hostname is nsrun's to set (sethostname works in the user namespace's uts namespace)", () => {
  const p = planNs(
    toRunConfig({ nopriv: "/home/u/root", name: "box" }, ["hostname"], "/"),
    facts({ uid: 1000 }),
    "/tmp/tsminc-1000/t",
  );
  assert.deepEqual(p.args.slice(0, 3), ["--user", "--hostname", "box"]);
  assert.ok(!p.args.includes("--name"), "enter.sh does not write /proc/sys/kernel/hostname");
});

const GOLDEN = join(packageRoot, "test/unit/golden");

test("golden argv: ns-mode (binds, limits, a name, --net, on a terminal)", () => {
  const p = plan(
    { name: "box", bind: ["/srv/dir:/d"], memLimit: "64M", net: true, nocaps: "net_raw", user: "5:6" },
    { stdinTty: true, stdoutTty: true, term: "xterm" },
    ["sh", "-c", "echo $0", "x y"],
  );
  const actual = JSON.stringify({ file: p.file, args: p.args, env: p.env, cgroup: p.cgroup }, null, 2) + "\n";
  const file = join(GOLDEN, "x86_64-ns.json");
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, "utf8"), `${file} (UPDATE_GOLDEN=1 rewrites it after review)`);
});

test("confinement: --privileged passes nothing to confine; the rest reaches enter.sh as given", () => {
  const entry = (raw: RawRunOptions) => plan(raw).args.slice(plan(raw).args.indexOf("--inside"));
  const privileged = entry({ privileged: true });
  for (const word of ["--caps", "--mask", "--seccomp", "--devices-cgroup"]) assert.ok(!privileged.includes(word), word);
  const opts = entry({
    capAdd: ["SYS_ADMIN"],
    securityOpt: ["seccomp=unconfined", "no-new-privileges"],
    readOnly: true,
  });
  assert.equal(opts[opts.indexOf("--caps") + 1], "a82425fb");
  assert.ok(!opts.includes("--seccomp"));
  assert.ok(opts.includes("--no-new-privs") && opts.includes("--read-only") && opts.includes("--mask"));
});

test("refused: a device filter needs a cgroup2 mount; --usedev or --privileged need none", () => {
  const noV2 = { cgroups: { v2: undefined, v1: { memory: "/sys/fs/cgroup/memory" } } };
  assert.throws(
    () => plan({}, noV2),
    (e: unknown) => e instanceof MincError && /no cgroup2 is mounted/.test(e.message),
  );
  assert.equal(plan({ usedev: true }, noV2).cgroup, undefined);
});
