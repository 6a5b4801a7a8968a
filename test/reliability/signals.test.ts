// Signals to tsminc at each point of a run (boot, command, shutdown), qemu killed, and tsminc itself
// killed: the right status, no hang, the rootfs unchanged, and nothing of ours left (tsminc gc
// cleans what a SIGKILLed tsminc could not).
import assert from "node:assert/strict";
import { constants } from "node:os";
import { readdirSync, readFileSync } from "node:fs";
import { before, test } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { guarded, leftoversAfter } from "../helpers/guard.js";
import { snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";
import { treeHash } from "../helpers/tree-hash.js";

let root = "";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
});

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const statusOf = (s: NodeJS.Signals) => 128 + constants.signals[s];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Children of `pid` whose command name starts with `name`. */
function childrenNamed(pid: number, name: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return ppid === pid && stat.includes(`(${name}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

for (const signal of SIGNALS) {
  test(`--qemu, ${signal} during boot: ${statusOf(signal)}`, async () => {
    await guarded(root, async () => {
      const run = startTsminc(["--qemu", "-r", root, "sh", "-c", "echo started; touch /x; sleep 60"]);
      await sleep(300);
      run.kill(signal);
      assert.equal(await run.done, statusOf(signal));
      assert.doesNotMatch(run.output(), /started/);
    });
  });

  test(`--qemu, ${signal} while the command runs: ${statusOf(signal)}`, async () => {
    await guarded(root, async () => {
      const run = startTsminc(["--qemu", "-r", root, "sh", "-c", "echo started; echo x >/x; sleep 60"]);
      await run.outputIncludes("started");
      run.kill(signal);
      assert.equal(await run.done, statusOf(signal));
    });
  });

  test(`--qemu, ${signal} during shutdown: the command's 0 or ${statusOf(signal)}, never a hang`, async () => {
    await guarded(root, async () => {
      const run = startTsminc(["--qemu", "-r", root, "sh", "-c", "echo x >/x; echo bye"]);
      await run.outputIncludes("bye");
      run.kill(signal);
      assert.ok([0, statusOf(signal)].includes(await run.done));
    });
  });
}

for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
  test(`host mode, ${signal} while the command runs (no terminal): ${statusOf(signal)}`, async () => {
    await guarded(root, async () => {
      const run = startTsminc(["-r", root, "sh", "-c", "echo x >/x; echo started; sleep 60"]);
      await run.outputIncludes("started");
      run.kill(signal);
      assert.equal(await run.done, statusOf(signal));
    });
  });
}

/** Descendants of `pid` that are the init (PID 1) of a pid namespace of their own. */
function namespaceInits(pid: number): number[] {
  const parentOf = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return 0;
    }
  };
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        const nspid = /^NSpid:\s+(.*)$/m
          .exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1]
          ?.trim()
          .split(/\s+/);
        if (nspid === undefined || nspid.length < 2 || nspid.at(-1) !== "1") return false;
      } catch {
        return false;
      }
      for (let up = parentOf(p); up > 1; up = parentOf(up)) if (up === pid) return true;
      return false;
    });
}

test("host mode, the container's init SIGKILLed (as the OOM killer may pick it): 137, nothing left", async () => {
  await guarded(root, async () => {
    const run = startTsminc(["-r", root, "sh", "-c", "echo x >/x; echo started; sleep 60"]);
    await run.outputIncludes("started");
    const [init, ...more] = namespaceInits(run.pid ?? -1);
    assert.deepEqual(more, []);
    assert.ok(init !== undefined, "found the container's init");
    process.kill(init, "SIGKILL");
    assert.equal(await run.done, 137);
  });
});

test("--qemu, qemu SIGKILLed: 255 with a one-line reason", async () => {
  await guarded(root, async () => {
    const run = startTsminc(["--qemu", "-r", root, "sh", "-c", "echo started; sleep 60"]);
    await run.outputIncludes("started");
    const [qemu] = childrenNamed(run.pid ?? -1, "qemu-system");
    assert.ok(qemu !== undefined, "found qemu");
    process.kill(qemu, "SIGKILL");
    assert.equal(await run.done, 255);
  });
});

for (const mode of ["--qemu", "host"] as const) {
  test(`${mode}: tsminc SIGKILLed: its VM or container dies with it, and tsminc gc removes the rest`, async () => {
    const before = snapshot();
    const hash = treeHash(root);
    const args = [...(mode === "host" ? [] : ["--qemu"]), "-r", root, "--pid-max", "100"];
    const run = startTsminc([...args, "sh", "-c", "echo x >/x; echo started; sleep 60"]);
    await run.outputIncludes("started");
    run.kill("SIGKILL");
    await run.done;
    // What the kernel ends (qemu, the container's processes, their mounts) goes by itself...
    const left = await leftoversAfter(before, 5000);
    assert.ok(
      left.every((l) => l.startsWith("tmpdir ") || l.startsWith("cgroup ")),
      `still there: ${left.join("; ")}`,
    );
    assert.ok(left.some((l) => l.startsWith("tmpdir ")));
    // ...and tsminc gc takes the tmpdir and the cgroup.
    const gc = await tsminc(["gc"]);
    assert.equal(gc.status, 0, gc.stderr);
    assert.match(gc.stdout.toString(), /removed tmpdir \/run\/tsminc\/tsminc-/);
    assert.match(gc.stdout.toString(), /removed cgroup /);
    assert.deepEqual(await leftoversAfter(before), []);
    assert.equal(treeHash(root), hash);
    // A second gc finds nothing.
    assert.match((await tsminc(["gc"])).stdout.toString(), /nothing to clean/);
  });
}
