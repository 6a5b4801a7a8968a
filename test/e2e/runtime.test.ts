// tsminc-runtime on its own, driven as an engine drives it: the OCI state machine (create, start,
// state, kill, delete), exec, the container's stdio handed through byte for byte, and every error one
// line (JSON into --log with --log-format json), in both modes, with nothing left behind.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { RUNTIME, RUNTIME_MODES, runtimeHarness, until } from "../helpers/runtime.js";

let work = "";
let root = "";

before(async () => {
  await breedAll();
  work = mkdtempSync(join(tmpdir(), "tsminc-runtime-"));
  root = join(work, "state");
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

const h = () => runtimeHarness(work, root);
const bundle = (name: string, args: string[], extra: Record<string, unknown> = {}) => h().bundle(name, args, extra);
const rt = (args: readonly string[], input?: string) => h().rt(args, input);
const status = (id: string) => h().status(id);
const createWithPipes = (args: readonly string[]) => h().createWithPipes(args);

const MODES = RUNTIME_MODES;

for (const mode of MODES) {
  test(`${mode.name}: create → created, start → the command runs with the bundle's args, env, cwd and hostname; stdio byte for byte`, async () => {
    const before = snapshot();
    const id = `io-${mode.name}`;
    const dir = bundle(id, ["sh", "-c", 'cat; echo "out $FOO $(hostname) $(pwd)"; printf "\\001\\377" >&2; exit 3'], {
      annotations: mode.annotations,
    });
    const pidFile = join(work, `${id}.pid`);
    const c = createWithPipes(["create", "--bundle", dir, "--pid-file", pidFile, id]);
    c.child.stdin.end("piped in\n");
    assert.equal(await c.created, 0, c.err());
    const pid = Number(readFileSync(pidFile, "utf8"));
    assert.ok(pid > 0);
    assert.equal(status(id), "created");
    assert.equal(rt(["start", id]).status, 0);
    await c.closed;
    assert.equal(c.out().toString(), "piped in\nout b a r box /\n");
    assert.deepEqual(c.errBytes(), Buffer.from([1, 0xff]));
    await until("stopped", () => status(id) === "stopped");
    const again = rt(["start", id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^tsminc-runtime: container \S+ is stopped, not created$/m);
    assert.equal(rt(["delete", id]).status, 0);
    assert.ok(!existsSync(join(root, id)));
    assert.match(rt(["state", id]).stderr, /does not exist/);
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
  });

  test(`${mode.name}: kill TERM stops a running sleep; delete refuses a running container without --force`, async () => {
    const before = snapshot();
    const id = `kill-${mode.name}`;
    const dir = bundle(id, ["sleep", "600"], { annotations: mode.annotations });
    const c = createWithPipes(["create", "--bundle", dir, id]);
    c.child.stdin.end();
    assert.equal(await c.created, 0, c.err());
    assert.equal(rt(["start", id]).status, 0);
    assert.equal(status(id), "running");
    const refused = rt(["delete", id]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /is running/);
    // the VM is up and the command started: then TERM
    assert.equal(rt(["kill", id, "TERM"]).status, 0);
    await until("stopped", () => status(id) === "stopped");
    assert.equal(rt(["delete", id]).status, 0);
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
  });
}

for (const mode of MODES) {
  test(`${mode.name}: exec runs more processes in the running container: flags or --process, status, stdio, env, cwd, user`, async () => {
    const before = snapshot();
    const id = `exec-${mode.name}`;
    const dir = bundle(id, ["sh", "-c", "echo in-container > /tmp/mark; exec sleep 600"], {
      annotations: mode.annotations,
    });
    const c = createWithPipes(["create", "--bundle", dir, id]);
    c.child.stdin.end();
    assert.equal(await c.created, 0, c.err());
    assert.equal(rt(["start", id]).status, 0);
    const exec = (args: readonly string[], input = "") => rt(["exec", ...args], input);
    // The container's own files and hostname: the exec joined its namespaces, after its command ran.
    await until("the command's mark", () => exec([id, "cat", "/tmp/mark"]).stdout === "in-container\n");
    const r = exec([id, "sh", "-c", 'echo "out $(hostname)"; printf "e r\\n" >&2; exit 5']);
    assert.deepEqual([r.status, r.stdout, r.stderr], [5, "out box\n", "e r\n"]);
    assert.equal(exec([id, "cat"], "piped\0in\n").stdout, "piped\0in\n");
    const flags = exec([
      "--cwd",
      "/tmp",
      "-e",
      "FOO=b a r",
      "--user",
      "1000:100",
      "-g",
      "10",
      id,
      "sh",
      "-c",
      'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$(id -G)"',
    ]);
    assert.equal(flags.stdout, "b a r|/tmp|1000:100|100 10\n", flags.stderr);
    const processFile = join(work, `${id}-process.json`);
    writeFileSync(
      processFile,
      JSON.stringify({ args: ["sh", "-c", "echo $HOME; exec no-such-program"], env: ["HOME=/nowhere"], cwd: "/" }),
    );
    const viaFile = exec(["--process", processFile, id]);
    assert.equal(viaFile.status, 127, viaFile.stderr);
    assert.equal(viaFile.stdout, "/nowhere\n");
    assert.match(exec(["ghost", "true"]).stderr, /container ghost does not exist/);
    assert.equal(rt(["kill", id, "KILL"]).status, 0);
    await until("stopped", () => status(id) === "stopped");
    assert.match(exec([id, "true"]).stderr, /is stopped, not running/);
    assert.equal(rt(["delete", id]).status, 0);
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
  });
}

test("delete --force ends a running container and leaves nothing", async () => {
  const before = snapshot();
  const dir = bundle("force", ["sleep", "600"]);
  const c = createWithPipes(["create", "--bundle", dir, "force"]);
  c.child.stdin.end();
  assert.equal(await c.created, 0, c.err());
  assert.equal(rt(["start", "force"]).status, 0);
  assert.equal(rt(["delete", "--force", "force"]).status, 0);
  assert.ok(!existsSync(join(root, "force")));
  // As with runc: --force on a container already gone (the engine's cleanup came first) is done.
  assert.equal(rt(["delete", "--force", "force"]).status, 0);
  assert.deepEqual(await leftoversAfter(before, 10_000), []);
});

test("errors are one line and status 1: a bad bundle, an ID in use, bad IDs and signals, unknown options; --log-format json logs them", () => {
  const dir = bundle("err", ["true"]);
  const log = join(work, "log.json");
  const cases: [string[], RegExp][] = [
    [["create", "--bundle", join(work, "nowhere"), "x1"], /no config\.json in the bundle/],
    [["create", "--bundle", bundle("noargs", []), "x2"], /process\.args is empty/],
    [["create", "--bundle", dir, "bad/id"], /container ID "bad\/id" is not valid/],
    [["start", "ghost"], /container ghost does not exist/],
    [["kill", "ghost", "NOPE"], /unknown signal NOPE/],
    [
      ["create", "--bundle", bundle("tty", ["sh"], { process: { terminal: true, args: ["sh"] } }), "x3"],
      /no --console-socket/,
    ],
    [
      ["create", "--bundle", dir, "--console-socket", join(work, "nope.sock"), "x4"],
      /--console-socket needs process\.terminal/,
    ],
    [
      ["create", "--bundle", join(work, "tty"), "--console-socket", join(work, "nope.sock"), "x5"],
      /nope\.sock is not a listening unix socket/,
    ],
    [["create", "--bogus", "x"], /create: unknown option --bogus/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(RUNTIME, ["--root", root, "--log", log, "--log-format", "json", ...args], { encoding: "utf8" });
    assert.equal(r.status, 1, args.join(" "));
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("tsminc-runtime:") && !l.includes("hint:"));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? "", message);
  }
  const logged = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(logged.length >= 3 && logged.every((l) => l.level === "error" && l.msg.length > 0));
  const created = createWithPipes(["create", "--bundle", dir, "dup"]);
  created.child.stdin.end();
  return created.created.then((code) => {
    assert.equal(code, 0);
    const dup = rt(["create", "--bundle", dir, "dup"]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /container dup already exists/);
    assert.equal(rt(["delete", "dup"]).status, 0);
  });
});

test("features, list and --version answer as runc's do", () => {
  const f = JSON.parse(rt(["features"]).stdout) as { ociVersionMin: string; ociVersionMax: string };
  assert.equal(f.ociVersionMin, "1.0.0");
  assert.match(rt(["--version"]).stdout, /^tsminc-runtime version \S+\nspec: 1\.0\.2\n$/);
  assert.match(rt(["list"]).stdout, /^ID\tPID\tSTATUS\tBUNDLE\n/);
});
