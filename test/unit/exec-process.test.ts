// tsminc-runtime exec's process, without a container: runc's flags and --process JSON to one
// ExecProcess, confine's words for it, and exec's command line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRuntimeArgs } from "../../src/cli/runtime-args.js";
import { refuseExtraFds } from "../../src/cli/runtime-common.js";
import { toRunConfig } from "../../src/config/from-flags.js";
import { MincError } from "../../src/core/errors.js";
import { execConfineWords, execFiles, execFromFlags, execFromProcessJson } from "../../src/core/exec-process.js";

const container = toRunConfig({ qemu: true }, ["sleep", "600"], "/");

test("exec's command line: options up to the ID, then the process's own words; repeatable -e and -g", () => {
  const a = parseRuntimeArgs([
    "--root",
    "/r",
    "exec",
    "-e",
    "A=1",
    "--env=B=2",
    "-g",
    "10",
    "-t",
    "id1",
    "ls",
    "-la",
    "--",
    "-x",
  ]);
  assert.equal(a.command, "exec");
  assert.deepEqual(a.lists, { env: ["A=1", "B=2"], "additional-gids": ["10"] });
  assert.equal(a.options.tty, true);
  assert.deepEqual(a.operands, ["id1", "ls", "-la", "--", "-x"]);
  assert.throws(() => parseRuntimeArgs(["exec", "--frob", "id1", "true"]), /exec: unknown option --frob/);
});

test("runc's flags and the process JSON make the same process; bad ones are refused in one line", () => {
  const fromFlags = execFromFlags(["sh", "-c", "x"], {
    cwd: "/w",
    env: ["A=1"],
    user: "5:6",
    groups: ["7"],
    caps: ["CAP_KILL"],
    noNewPrivs: true,
    tty: false,
  });
  const fromJson = execFromProcessJson(
    JSON.stringify({
      args: ["sh", "-c", "x"],
      env: ["A=1"],
      cwd: "/w",
      user: { uid: 5, gid: 6, additionalGids: [7] },
      capabilities: { bounding: ["CAP_KILL"] },
      noNewPrivileges: true,
    }),
  );
  assert.deepEqual(fromFlags, fromJson);
  const refused: [() => unknown, RegExp][] = [
    [() => execFromFlags([], { env: [], groups: [], caps: [], noNewPrivs: false, tty: false }), /exec needs a command/],
    [() => execFromProcessJson("{"), /not JSON/],
    [() => execFromProcessJson(JSON.stringify({ args: ["x"], cwd: "rel" })), /not absolute/],
    [
      () => execFromFlags(["x"], { user: "root", env: [], groups: [], caps: [], noNewPrivs: false, tty: false }),
      /UID\[:GID\]/,
    ],
    [() => execFromProcessJson(JSON.stringify({ args: ["x"], capabilities: { bounding: ["CAP_NOPE"] } })), /CAP_NOPE/],
  ];
  for (const [f, message] of refused)
    assert.throws(f, (e: unknown) => e instanceof MincError && message.test(e.message) && !e.message.includes("\n"));
});

test("confine's words: the container's seccomp and capabilities unless the process names its own; its ids, groups, limits", () => {
  const p = execFromProcessJson(
    JSON.stringify({
      args: ["x"],
      user: { uid: 5, gid: 6, additionalGids: [7, 8] },
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 10, hard: 20 }],
    }),
  );
  assert.deepEqual(execConfineWords(p, container), [
    "--caps",
    "a80425fb",
    "--seccomp",
    "--user",
    "5:6",
    "--groups",
    "7:8",
    "--rlimit",
    "nofile:10:20",
  ]);
  const own = execFromProcessJson(JSON.stringify({ args: ["x"], capabilities: { bounding: ["CAP_KILL"] } }));
  assert.deepEqual(execConfineWords(own, container).slice(0, 2), ["--caps", "20"]);
  for (const w of execConfineWords(p, container)) assert.match(w, /^[A-Za-z0-9:-]+$/);
  assert.deepEqual(execFiles(p, undefined).args, Buffer.from("x\0"));
  assert.equal(execFiles(p, undefined).tty, undefined);
});

test("--preserve-fds: 0 or absent is fine; more descriptors are refused in one line", () => {
  refuseExtraFds(undefined, "create");
  refuseExtraFds("0", "create");
  assert.throws(() => {
    refuseExtraFds("2", "exec");
  }, /exec --preserve-fds 2: descriptors besides stdin/);
});
