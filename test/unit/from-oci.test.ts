// The OCI runtime front end (config.json to RunConfig) and runc's command line, without a VM.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromOciSpec, VM_MEMORY_OVERHEAD_MIB } from "../../src/config/from-oci.js";
import { parseRuntimeArgs } from "../../src/cli/runtime-args.js";
import { MincError } from "../../src/core/errors.js";

const spec = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    ociVersion: "1.0.2",
    process: {
      user: { uid: 1000, gid: 100 },
      args: ["sh", "-c", "echo hi"],
      env: ["PATH=/bin", "TERM=xterm"],
      cwd: "/work",
      capabilities: { bounding: ["CAP_CHOWN", "CAP_KILL"] },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "pod",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev/shm", type: "bind", source: "/var/shm", options: ["bind"] },
      { destination: "/etc/hosts", type: "bind", source: "/run/ctr/hosts", options: ["rbind", "rprivate"] },
    ],
    linux: { resources: { memory: { limit: 256 * 2 ** 20 }, cpu: { quota: 150000, period: 100000 } }, seccomp: {} },
    ...over,
  });

test("config.json: the process, root, hostname, binds and confinement become the RunConfig; the VM is sized from the limits", () => {
  const { config, warnings } = fromOciSpec(spec(), "/b");
  assert.equal(config.qemu, true);
  assert.equal(config.rootdir, "/b/rootfs");
  assert.equal(config.direct, true);
  assert.deepEqual(config.command, ["sh", "-c", "echo hi"]);
  assert.deepEqual(config.env, ["PATH=/bin", "TERM=xterm"]);
  assert.equal(config.workdir, "/work");
  assert.deepEqual(config.user, { uid: 1000, gid: 100 });
  assert.equal(config.name, "pod");
  assert.deepEqual(config.binds, [{ source: "/run/ctr/hosts", target: "/etc/hosts", flags: [] }]);
  assert.deepEqual(config.security.caps, ["CHOWN", "KILL"]);
  assert.equal(config.security.noNewPrivs, true);
  assert.equal(config.security.seccomp, true);
  assert.equal(config.security.readOnly, true);
  assert.equal(config.memMiB, 256 + VM_MEMORY_OVERHEAD_MIB);
  assert.equal(config.cpus, 2);
  assert.equal(config.network, "none");
  assert.deepEqual(warnings, []);
});

test("annotations choose ns mode, the arch and the VM's size; ns mode takes no VM size", () => {
  const ns = fromOciSpec(spec({ annotations: { "run.tsminc.mode": "ns" } }), "/b").config;
  assert.equal(ns.qemu, false);
  assert.equal(ns.memMiB, undefined);
  const vm = fromOciSpec(
    spec({ annotations: { "run.tsminc.arch": "arm64", "run.tsminc.mem": "1G", "run.tsminc.cpus": "4" } }),
    "/b",
  );
  assert.deepEqual([vm.config.arch, vm.config.memMiB, vm.config.cpus], ["arm64", 1024, 4]);
});

test("what cannot be honored: refused in one line, or a warning for the log", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ process: { args: [] } }, /process\.args is empty/],
    [{ mounts: [{ destination: "/x", type: "mqueue", source: "mqueue" }] }, /only bind and tmpfs mounts/],
    [{ mounts: [{ destination: "/x", type: "tmpfs", source: "tmpfs", options: ["huge=always"] }] }, /huge=always/],
    [{ mounts: [{ destination: "/x", type: "bind", source: "/s", options: ["rro"] }] }, /bind option rro/],
    [{ process: { args: ["sh"], capabilities: { bounding: ["CAP_NOPE"] } } }, /unknown capability CAP_NOPE/],
    [{ annotations: { "run.tsminc.mode": "kvm" } }, /vm or ns/],
    [{ annotations: { "run.tsminc.arch": "sparc" } }, /sparc/],
  ];
  for (const [over, message] of refused) {
    assert.throws(
      () => fromOciSpec(spec(over), "/b"),
      (e: unknown) => e instanceof MincError && message.test(e.message) && !e.message.includes("\n"),
      String(message),
    );
  }
  assert.throws(() => fromOciSpec("{", "/b"), /not a valid OCI runtime spec/);
  const { warnings } = fromOciSpec(
    spec({
      mounts: [{ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }],
      linux: { namespaces: [{ type: "network", path: "/run/netns/x" }] },
    }),
    "/b",
  );
  assert.equal(warnings.length, 1);
});

test("the engine's network namespace (a path): the container joins it, as --network engine; none without a path", () => {
  const joined = fromOciSpec(spec({ linux: { namespaces: [{ type: "network", path: "/run/netns/cni-1" }] } }), "/b");
  assert.deepEqual([joined.config.network, joined.config.netns], ["engine", "/run/netns/cni-1"]);
  const own = fromOciSpec(spec({ linux: { namespaces: [{ type: "network" }] } }), "/b");
  assert.deepEqual([own.config.network, own.config.netns], ["none", undefined]);
});

test("additionalGids and rlimits reach the RunConfig; a bad rlimit is refused in one line", () => {
  const { config } = fromOciSpec(
    spec({
      process: {
        args: ["sh"],
        user: { uid: 0, gid: 0, additionalGids: [0, 10] },
        rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }],
      },
    }),
    "/b",
  );
  assert.equal(config.user, undefined);
  assert.deepEqual(config.groups, [0, 10]);
  assert.deepEqual(config.rlimits, [{ name: "nofile", soft: 1024n, hard: 1024n }]);
  assert.throws(
    () => fromOciSpec(spec({ process: { args: ["sh"], rlimits: [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }] } }), "/b"),
    /unknown type RLIMIT_BOGUS/,
  );
});

test("process.terminal: a terminal of consoleSize for the monitor; none without it", () => {
  const on = fromOciSpec(
    spec({ process: { args: ["sh"], terminal: true, consoleSize: { height: 30, width: 100 } } }),
    "/b",
  );
  assert.deepEqual(on.terminal, { rows: 30, cols: 100 });
  assert.equal(fromOciSpec(spec(), "/b").terminal, undefined);
});

test("config.json's mounts: binds keep their flags, tmpfs their options as given, in the spec's order", () => {
  const { config, warnings } = fromOciSpec(
    spec({
      mounts: [
        { destination: "/ro", type: "bind", source: "/srv", options: ["rbind", "ro", "nosuid", "rprivate"] },
        { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "size=65536k"] },
        { destination: "/dev/mqueue", type: "mqueue", source: "mqueue" },
      ],
    }),
    "/b",
  );
  assert.deepEqual(config.binds, [{ source: "/srv", target: "/ro", flags: ["ro", "nosuid"] }]);
  assert.deepEqual(config.tmpfs, [{ target: "/run", options: "nosuid,nodev,size=65536k" }]);
  assert.deepEqual(warnings, []);
});

test("runc's command line: global options, the command, its options in either spelling, operands", () => {
  const a = parseRuntimeArgs([
    "--root",
    "/r",
    "--log=/l",
    "--log-format",
    "json",
    "--systemd-cgroup",
    "create",
    "-b",
    "/bun",
    "--pid-file=/p",
    "--no-pivot",
    "id1",
  ]);
  assert.deepEqual(a.globals, { root: "/r", log: "/l", "log-format": "json", "systemd-cgroup": true });
  assert.equal(a.command, "create");
  assert.deepEqual(a.options, { bundle: "/bun", "pid-file": "/p", "no-pivot": true });
  assert.deepEqual(a.operands, ["id1"]);
  assert.deepEqual(parseRuntimeArgs(["kill", "--all", "id", "9"]).operands, ["id", "9"]);
  assert.equal(parseRuntimeArgs(["delete", "-f", "id"]).options.force, true);
  assert.equal(parseRuntimeArgs(["--version"]).command, "version");
  assert.throws(() => parseRuntimeArgs(["checkpoint", "id"]), /unknown command "checkpoint"/);
  assert.throws(() => parseRuntimeArgs(["create", "--pid-file"]), /needs a value/);
  assert.throws(() => parseRuntimeArgs([]), /needs a command/);
});
