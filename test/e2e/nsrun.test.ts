// The image's nsrun on its own (both modes' first process): the root it mounts, the status it passes
// on, its own failures, each one line and 125, with nothing mounted left behind, and its janitor.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test, type TestContext } from "node:test";
import { archOfNode } from "../../src/core/arch.js";
import { writeOwner } from "../../src/host/owner.js";
import { defaultImagesDir } from "../../src/host/paths.js";
import { spawnRunner } from "../../src/host/spawn-runner.js";
import { breedAll } from "../helpers/cli.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";
import { treeHash } from "../helpers/tree-hash.js";

const hostArch = archOfNode(process.arch);
const nsrun = join(defaultImagesDir, hostArch ?? "none", "nsrun");
let rootfs = "";

before(async () => {
  await breedAll();
  if (hostArch !== undefined) rootfs = busyboxRootfs(hostArch);
});

/** A tmpdir laid out as tsminc lays it out for ns mode. */
function makeTmpdir(): string {
  const dir = mkdtempSync("/run/tsminc-nsrun-test-");
  for (const sub of ["root", "lower", "storage", "work"]) mkdirSync(join(dir, sub));
  return dir;
}

/** Skips (saying so) unless this runs as root: nsrun without --user makes namespaces only root may. */
function asRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  skipBecause(t, "nsrun without --user needs root");
  return false;
}

async function run(args: readonly string[]) {
  const r = await spawnRunner.run(nsrun, args);
  return { status: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

test("nsrun: the command runs as PID 1 of its own pid namespace, over the overlay at TMPDIR/root", async (t) => {
  if (!asRoot(t)) return;
  const before = snapshot();
  const hash = treeHash(rootfs);
  const tmp = makeTmpdir();
  try {
    const script = [
      'echo "pid $$"',
      `cat ${tmp}/root/bin/busybox >/dev/null && echo "root mounted"`,
      `touch ${tmp}/lower/x 2>/dev/null || echo "lower read-only"`,
      `echo new >${tmp}/root/new && echo "root writable"`,
    ].join("; ");
    const r = await run([tmp, rootfs, "--", "/bin/sh", "-c", script]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "pid 1\nroot mounted\nlower read-only\nroot writable\n");
    // The write went to the overlay's upper layer, never to the rootfs.
    assert.equal(readFileSync(join(tmp, "storage", "new"), "utf8"), "new\n");
    assert.equal(treeHash(rootfs), hash);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.deepEqual(await leftoversAfter(before), []);
});

/** Whether `pid` is the first process (PID 1) of a pid namespace below the host's. */
function isNamespaceInit(pid: string): boolean {
  try {
    const nspid = /^NSpid:\s+(.*)$/m
      .exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
      ?.trim()
      .split(/\s+/);
    return nspid !== undefined && nspid.length > 1 && nspid.at(-1) === "1";
  } catch {
    return false;
  }
}

/** The pid (as the host sees it) of the container's init, once nsrun `parent` has started it. */
async function initOf(parent: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    // Its first child may be the fork that starts the janitor: the init is the one in a pid namespace.
    const children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim().split(" ");
    const init = children.find(isNamespaceInit);
    if (init !== undefined) return Number(init);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nsrun ${parent} started no init`);
}

test("nsrun: the command's status passes through, 137 when its init is SIGKILLed", async (t) => {
  if (!asRoot(t)) return;
  const tmp = makeTmpdir();
  try {
    assert.equal((await run([tmp, rootfs, "--", "/bin/sh", "-c", "exit 7"])).status, 7);
    // A namespace's init gets no signal it does not handle but SIGKILL (and SIGSTOP) from the host.
    for (const options of [["--direct"], ["--net"]]) {
      const child = spawnRunner.spawn(nsrun, [...options, tmp, rootfs, "--", "/bin/sleep", "60"]);
      process.kill(await initOf(child.pid ?? 0), "SIGKILL");
      assert.equal((await child.done).exitCode, 137, options.join(" "));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("nsrun: its own failures are one line naming what failed, and 125, with nothing left mounted", async (t) => {
  if (!asRoot(t)) return;
  const before = snapshot();
  const tmp = makeTmpdir();
  try {
    const cases: [readonly string[], RegExp][] = [
      [[], /^tsminc: usage: nsrun /],
      [["--bogus", tmp, rootfs, "--", "/bin/true"], /^tsminc: nsrun: bad option --bogus$/],
      [["/nonexistent-tmp", rootfs, "--", "/bin/true"], /^tsminc: cannot enter \/nonexistent-tmp: No such file/],
      [[tmp, "/nonexistent-root", "--", "/bin/true"], /^tsminc: cannot bind \/nonexistent-root: No such file/],
      [[tmp, rootfs, "--", "/nonexistent-program"], /^tsminc: cannot run \/nonexistent-program: No such file/],
      [["--incoming", "3", "/etc/hostname", tmp, rootfs, "--", "/bin/true"], /^tsminc: usage: nsrun /],
      [
        ["--incoming", "3", "/nonexistent-state", "--exec", tmp, rootfs, "--", "/bin/true"],
        /^tsminc: cannot open the saved VM state \/nonexistent-state: No such file/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.status, 125, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? "", message);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.deepEqual(await leftoversAfter(before), []);
});

test("nsrun --exec --incoming FD PATH: PATH is the command's descriptor FD, read-only; a taken FD is refused", async (t) => {
  if (!asRoot(t)) return;
  const before = snapshot();
  const tmp = makeTmpdir();
  try {
    const state = join(tmp, "it's $a state");
    writeFileSync(state, "saved\n");
    const probe = `cat <&3; echo more >&3 2>/dev/null || echo "read-only"; [ -e /proc/self/fd/4 ] || echo "no other"`;
    const r = await run(["--incoming", "3", state, "--exec", tmp, rootfs, "--", "/bin/sh", "-c", probe]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "saved\nread-only\nno other\n");
    // Descriptor 3 already open in nsrun (here a pipe of the caller's) is never replaced.
    const taken = spawnSync(nsrun, ["--incoming", "3", state, "--exec", tmp, rootfs, "--", "/bin/true"], {
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      encoding: "utf8",
    });
    assert.equal(taken.status, 125, taken.stderr);
    assert.match(taken.stderr, /^tsminc: cannot pass .*it's \$a state as descriptor 3: it is taken/);
    assert.equal(taken.stderr.trimEnd().split("\n").length, 1, taken.stderr);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.deepEqual(await leftoversAfter(before), []);
});

test("nsrun --probe-io-uring: 0 where an io_uring can be set up, 1 where the kernel refuses one; silent", async (t) => {
  const probe = async () => {
    const r = await run(["--probe-io-uring"]);
    assert.equal(r.stdout + r.stderr, "");
    return r.status;
  };
  // Linux 6.6+ has a switch: 2 turns io_uring off for everyone, 1 for those outside its group (root
  // may still).
  const knob = "/proc/sys/kernel/io_uring_disabled";
  if (!existsSync(knob)) {
    assert.equal(await probe(), 0);
    skipBecause(t, `${knob} is missing (Linux before 6.6): the refusal is not tried`);
    return;
  }
  const was = readFileSync(knob, "utf8").trim();
  assert.equal(await probe(), was === "2" || (was === "1" && process.getuid?.() !== 0) ? 1 : 0);
  if (!asRoot(t)) return;
  try {
    writeFileSync(knob, "2");
    assert.equal(await probe(), 1);
  } finally {
    writeFileSync(knob, was);
  }
  assert.equal(readFileSync(knob, "utf8").trim(), was);
});

/** nsrun's janitors for `tmp` (its forks, which keep its arguments). */
const janitorsOf = (tmp: string) =>
  readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(tmp);
      } catch {
        return false;
      }
    });

test("nsrun's janitor cleans up only after a dead owner: a tmpdir whose owner still runs is left to it", async (t) => {
  if (!asRoot(t)) return;
  const alive = makeTmpdir();
  const dead = makeTmpdir();
  try {
    // This test process owns `alive`; `dead` names a process that is gone.
    writeOwner(alive, false);
    writeFileSync(join(dead, "owner"), JSON.stringify({ pid: 2 ** 22 + 1, start: "0", keep: false }));
    for (const tmp of [alive, dead]) {
      // A shell is nsrun's parent here, as GNU time is in the bench: it ends before the owner does.
      const r = await spawnRunner.run("sh", ["-c", `"$0" "$@"`, nsrun, tmp, rootfs, "--", "/bin/true"]);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    for (const tmp of [alive, dead]) {
      for (let i = 0; janitorsOf(tmp).length > 0; i++) {
        assert.ok(i < 250, `the janitor of ${tmp} is still there`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok(existsSync(join(alive, "owner")), "the live owner's tmpdir was left alone");
    assert.ok(!existsSync(dead), "the dead owner's tmpdir was removed");
  } finally {
    rmSync(alive, { recursive: true, force: true });
    rmSync(dead, { recursive: true, force: true });
  }
});
