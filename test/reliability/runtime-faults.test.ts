// tsminc-runtime when things die under it: the monitor SIGKILLed (the VM goes with it; state says
// stopped; delete leaves nothing), an exec session SIGKILLed mid-run (the container goes on and takes
// more execs), and exec into a container whose VM was killed (one line, status 1). Nothing of ours
// is left after delete.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { childrenNamed } from "../helpers/processes.js";
import { RUNTIME, RUNTIME_MODES, runtimeHarness, until } from "../helpers/runtime.js";

let work = "";
let root = "";

before(async () => {
  await breedAll();
  work = mkdtempSync(join(tmpdir(), "tsminc-runtime-faults-"));
  root = join(work, "state");
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

const h = () => runtimeHarness(work, root);

/** The monitor's pid, from the runtime's own state. */
const monitorOf = (id: string) => (JSON.parse(h().rt(["state", id]).stdout) as { pid: number }).pid;

/** qemu below the monitor (monitor → nsrun, which became qemu). */
function qemuOf(monitor: number): number | undefined {
  return childrenNamed(monitor, "qemu-system")[0];
}

for (const mode of RUNTIME_MODES) {
  test(`${mode.name}: the monitor SIGKILLed: state says stopped, and delete leaves nothing`, async () => {
    const before = snapshot();
    const id = `killed-${mode.name}`;
    await h().started(id, ["sleep", "600"], mode.annotations);
    process.kill(monitorOf(id), "SIGKILL");
    await until("stopped", () => h().status(id) === "stopped");
    assert.equal(h().rt(["delete", id]).status, 0);
    assert.ok(!existsSync(join(root, id)));
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
  });

  test(`${mode.name}: an exec session SIGKILLed mid-run: the container goes on and takes another exec`, async () => {
    const before = snapshot();
    const id = `session-${mode.name}`;
    await h().started(id, ["sleep", "600"], mode.annotations);
    const session = spawn(RUNTIME, ["--root", root, "exec", id, "sh", "-c", "echo running; exec sleep 600"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    // Its process runs once it says so.
    await new Promise<void>((resolve) => {
      session.stdout.on("data", (d: Buffer) => {
        if (d.toString().includes("running")) resolve();
      });
    });
    session.kill("SIGKILL");
    await new Promise((r) => session.on("exit", r));
    const again = h().rt(["exec", id, "sh", "-c", "echo again; exit 4"]);
    assert.deepEqual([again.status, again.stdout], [4, "again\n"], again.stderr);
    assert.equal(h().status(id), "running");
    assert.equal(h().rt(["delete", "--force", id]).status, 0);
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
  });
}

test("vm: exec into a container whose qemu was killed: one line, status 1; delete leaves nothing", async () => {
  const before = snapshot();
  const id = "dead-vm";
  await h().started(id, ["sleep", "600"]);
  const monitor = monitorOf(id);
  await until("qemu", () => qemuOf(monitor) !== undefined);
  const qemu = qemuOf(monitor);
  assert.ok(qemu !== undefined);
  process.kill(qemu, "SIGKILL");
  await until("stopped", () => h().status(id) === "stopped");
  const r = h().rt(["exec", id, "true"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tsminc-runtime: container dead-vm is stopped, not running$/m);
  assert.equal(h().rt(["delete", id]).status, 0);
  assert.deepEqual(await leftoversAfter(before, 10_000), []);
});
