// Signals to tsminc at each point of a run (boot, command, shutdown), qemu killed, and tsminc itself
// killed: the right status, no hang, the rootfs unchanged, and nothing of ours left (nsrun's janitor
// cleans up after a SIGKILLed tsminc).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { constants } from "node:os";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { before, test } from "node:test";
import { probeCgroups } from "../../src/host/cgroup.js";
import { breedAll } from "../helpers/cli.js";
import { guarded } from "../helpers/guard.js";
import { leftSince, leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { childNamed } from "../helpers/processes.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";
import { treeHash } from "../helpers/tree-hash.js";

let root = "";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
});

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const statusOf = (s: NodeJS.Signals) => 128 + constants.signals[s];

for (const signal of SIGNALS) {
  test(`--qemu, ${signal} during boot: ${statusOf(signal)}`, async () => {
    await guarded(root, async () => {
      const run = startTsminc(["--qemu", "-r", root, "sh", "-c", "echo started; touch /x; sleep 60"]);
      // The VM is booting once qemu runs: nsrun, tsminc's child, has become it.
      await childNamed(run.pid, "qemu-system");
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
  test(`ns mode, ${signal} while the command runs (no terminal): ${statusOf(signal)}`, async () => {
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

test("ns mode, the container's init SIGKILLed (as the OOM killer may pick it): 137, nothing left", async () => {
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
    process.kill(await childNamed(run.pid, "qemu-system", 0), "SIGKILL");
    assert.equal(await run.done, 255);
  });
});

for (const mode of ["--qemu", "ns"] as const) {
  test(`${mode}: tsminc SIGKILLed: its VM or container dies with it, and nsrun's janitor removes the rest`, async () => {
    const before = snapshot();
    const hash = treeHash(root);
    const args = [...(mode === "ns" ? [] : ["--qemu"]), "-r", root, "--pid-max", "100"];
    const run = startTsminc([...args, "sh", "-c", "echo x >/x; echo started; sleep 60"]);
    await run.outputIncludes("started");
    run.kill("SIGKILL");
    await run.done;
    // The kernel ends qemu or the container's processes, and their mounts; the janitor the tmpdir
    // and the cgroup, with no tsminc gc.
    assert.deepEqual(await leftoversAfter(before, 5000), []);
    assert.equal(treeHash(root), hash);
    assert.match((await tsminc(["gc"])).stdout.toString(), /nothing to clean/);
  });

  test(`${mode}: tsminc -k SIGKILLed: the janitor trims the kept tmpdir to the container's writes`, async () => {
    const before = snapshot();
    const args = [...(mode === "ns" ? [] : ["--qemu"]), "-k", "-r", root];
    const run = startTsminc([...args, "sh", "-c", "echo kept >/kept; echo started; sleep 60"]);
    await run.outputIncludes("started");
    run.kill("SIGKILL");
    await run.done;
    const until = Date.now() + 5000;
    const kept = () => leftSince(before).filter((l) => l.startsWith("tmpdir "));
    while (kept().length === 1 && existsSync(join(kept()[0]?.slice(7) ?? "", "owner")) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const [dir, ...more] = kept().map((l) => l.slice(7));
    assert.ok(dir !== undefined && more.length === 0, `one kept tmpdir: ${kept().join("; ")}`);
    try {
      assert.deepEqual(readdirSync(dir).sort(), ["lower", "root", "storage", "work"]);
      assert.equal(readFileSync(join(dir, "storage", "kept"), "utf8"), "kept\n");
      assert.deepEqual(await leftoversAfter(before, 3000, (l) => !l.startsWith("tmpdir ")), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("tsminc gc: what a run left with no janitor to clean it (its owner and janitor both gone) is removed", async () => {
  const before = snapshot();
  const dir = join("/run/tsminc", "tsminc-gcprobe");
  mkdirSync(join(dir, "storage", "d"), { recursive: true });
  writeFileSync(join(dir, "storage", "d", "f"), "x");
  // A pid that is not running: the run's owner is gone.
  writeFileSync(join(dir, "owner"), JSON.stringify({ pid: 2 ** 22 + 1, start: "0", keep: false }));
  const memory = probeCgroups().v1.memory ?? probeCgroups().v2?.mount;
  const cgroup = memory === undefined ? undefined : join(memory, "tsminc", "tsminc-gcprobe");
  if (cgroup !== undefined) mkdirSync(cgroup, { recursive: true });
  const gc = await tsminc(["gc"]);
  assert.equal(gc.status, 0, gc.stderr);
  assert.match(gc.stdout.toString(), /removed tmpdir \/run\/tsminc\/tsminc-gcprobe/);
  if (cgroup !== undefined) assert.match(gc.stdout.toString(), /removed cgroup .*tsminc-gcprobe/);
  assert.deepEqual(await leftoversAfter(before), []);
});

test("tsminc gc: a slirp4netns whose run is gone is killed, and its tmpdir removed", async () => {
  const before = snapshot();
  const dir = join("/run/tsminc", "tsminc-gcslirp");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "owner"), JSON.stringify({ pid: 2 ** 22 + 1, start: "0", keep: false }));
  // A network namespace of the test's own for it to serve, as a run's nsrun would have made.
  // unshare execs sh in the new namespace, so its "in" comes from there.
  const netns = spawn("unshare", ["--net", "sh", "-c", "echo in; exec sleep 600"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await once(netns.stdout, "data");
    const target = netns.pid ?? 0;
    const slirp = spawn(
      "slirp4netns",
      ["--ready-fd=3", `--api-socket=${dir}/slirp.sock`, "--configure", String(target), "tap0"],
      { stdio: ["ignore", "ignore", "pipe", "pipe"] },
    );
    const ready = slirp.stdio[3] as Readable;
    await once(ready, "data");
    const gone = once(slirp, "exit");
    const gc = await tsminc(["gc"]);
    assert.equal(gc.status, 0, gc.stderr);
    assert.match(gc.stdout.toString(), new RegExp(`killed slirp4netns \\(pid ${slirp.pid}\\) of ${dir}`));
    assert.match(gc.stdout.toString(), /removed tmpdir \/run\/tsminc\/tsminc-gcslirp/);
    assert.deepEqual(await gone, [null, "SIGKILL"]);
    assert.deepEqual(await leftoversAfter(before), []);
  } finally {
    netns.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
