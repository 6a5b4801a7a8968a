// What docker's runtime calls need of tsminc-runtime's pure parts: the command lines containerd's
// runc shim sends parse (docker-runtime.test.ts logs them for real), and a state folder under
// docker's long --root keeps its sockets' paths within a unix socket's 107 bytes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parseRuntimeArgs, runtimeGlobals } from "../../src/cli/runtime-args.js";
import { stateDir } from "../../src/host/runtime-state.js";

const ID = "0123456789abcdef".repeat(4);
const SHIM = ["--root", "/var/run/docker/runtime-runc/moby", "--log", "/b/log.json", "--log-format", "json"];

test("the shim's command lines: --mode from daemon.json's runtimeArgs, ps, pause, resume, update", () => {
  const ps = parseRuntimeArgs(["--mode=ns", ...SHIM, "ps", "--format", "json", ID]);
  assert.equal(ps.globals.mode, "ns");
  assert.equal(ps.globals.root, "/var/run/docker/runtime-runc/moby");
  assert.deepEqual([ps.command, ps.options.format, ps.operands], ["ps", "json", [ID]]);
  // runc ps ID [ps options]: the options after the ID are ps's own.
  assert.deepEqual(parseRuntimeArgs(["ps", ID, "-o", "pid"]).operands, [ID, "-o", "pid"]);
  assert.equal(parseRuntimeArgs([...SHIM, "pause", ID]).command, "pause");
  assert.equal(parseRuntimeArgs([...SHIM, "resume", ID]).command, "resume");
  const update = parseRuntimeArgs([...SHIM, "update", "--resources", "-", ID]);
  assert.deepEqual([update.options.resources, update.operands], ["-", [ID]]);
  assert.equal(parseRuntimeArgs(["update", "-r", "/r.json", ID]).options.resources, "/r.json");
});

test("a command line that does not parse still names its log (the shim reads the error there)", () => {
  assert.throws(() => parseRuntimeArgs([...SHIM, "checkpoint", ID]), /unknown command "checkpoint"/);
  assert.equal(runtimeGlobals([...SHIM, "checkpoint", ID]).log, "/b/log.json");
  assert.deepEqual(runtimeGlobals(["--bogus", "x"]), {});
});

test("a state folder is named by its ID unless a socket in it would not fit a unix socket's path", () => {
  assert.equal(stateDir("/run/tsminc-runtime", ID), join("/run/tsminc-runtime", ID));
  assert.equal(stateDir("/run/tsminc-runtime", "short"), "/run/tsminc-runtime/short");
  const docker = stateDir("/var/run/docker/runtime-runc/moby", ID);
  assert.match(docker, /^\/var\/run\/docker\/runtime-runc\/moby\/_[0-9a-f]{24}$/);
  assert.ok(`${docker}/exec.sock`.length <= 107);
  // The same ID, the same folder; another ID, another.
  assert.equal(stateDir("/var/run/docker/runtime-runc/moby", ID), docker);
  assert.notEqual(stateDir("/var/run/docker/runtime-runc/moby", ID.replace("0", "1")), docker);
});
