// Guest and resource faults: a kernel panic, the guest's init dying, the guest out of memory, a
// command that never ends, a full tmpfs, a full upper layer. Each ends with a clear status and
// message, never a hang, the rootfs unchanged and nothing left behind.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { guarded } from "../helpers/guard.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { tsminc } from "../helpers/tsminc.js";

let root = "";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
});

const UNREPORTED = /^tsminc: the VM stopped without reporting the command's status/m;

test("kernel panic (no init can start): 255 and a reason, within seconds", async () => {
  await guarded(root, async () => {
    const r = await tsminc(["--qemu", "-r", root, "--append", "rdinit=/nonexistent init=/nonexistent", "true"]);
    assert.equal(r.status, 255);
    assert.match(r.stderr, UNREPORTED);
    assert.match(r.stderr, /hint: run with --debug/);
    assert.ok(r.seconds < 30);
  });
});

test("the guest's init exits (a panic: 'Attempted to kill init'): 255 and a reason", async () => {
  await guarded(root, async () => {
    const r = await tsminc(["--qemu", "-r", root, "--append", "rdinit=/bin/true", "true"]);
    assert.equal(r.status, 255);
    assert.match(r.stderr, UNREPORTED);
  });
});

test("the guest runs out of memory: the hog is OOM-killed (137) and the VM reports it", async () => {
  await guarded(root, async () => {
    const r = await tsminc(["--qemu", "-r", root, "--mem", "64M", "sh", "-c", "head -c 256m /dev/zero | tail"]);
    assert.equal(r.status, 137, r.stderr);
  });
});

test("the root on its disks (--root-disk), a hog at its memory limit: killed (137) every time, never left thrashing", async () => {
  // Its reclaim could only evict the programs' own code from the disk's page cache, read back at
  // once: most such runs spun until the timeout before the guest's thrash guard (libexec/guard.c).
  for (let i = 0; i < 3; i++) {
    await guarded(root, async () => {
      const hog = ["sh", "-c", "head -c 3000m /dev/zero | tail"];
      const r = await tsminc(["--qemu", "--root-disk", "--mem", "128M", "--timeout", "90", "-r", root, ...hog]);
      assert.equal(r.status, 137, `run ${i}: ${r.stderr}`);
    });
  }
});

test("a command that never ends, with --timeout: 124 in both modes", async () => {
  for (const mode of [["--qemu"], []]) {
    await guarded(root, async () => {
      const r = await tsminc([...mode, "-r", root, "--timeout", "3", "sh", "-c", "while :; do :; done"]);
      assert.equal(r.status, 124, r.stderr);
      assert.match(r.stderr, /^tsminc: timed out after 3 s/m);
    });
  }
});

test("a full tmpfs in the VM: the writer gets ENOSPC, the container goes on", async () => {
  await guarded(root, async () => {
    const script = "dd if=/dev/zero of=/tmp/fill bs=1M count=100000 2>/dev/null; echo dd=$?; rm /tmp/fill; echo ok";
    const r = await tsminc(["--qemu", "-r", root, "sh", "-c", script]);
    assert.equal(r.stdout.toString(), "dd=1\nok\n", r.stderr);
    assert.equal(r.status, 0);
  });
});

test("ns mode, /tmp filled under --mem-limit: the writer is OOM-killed (137), nothing hangs", async () => {
  // tmpfs pages are charged to the run's memory cgroup, so the limit also bounds /tmp.
  await guarded(root, async () => {
    const r = await tsminc([
      "--mem-limit",
      "64M",
      "-r",
      root,
      "dd",
      "if=/dev/zero",
      "of=/tmp/fill",
      "bs=1M",
      "count=100000",
    ]);
    assert.equal(r.status, 137, r.stderr);
  });
});

test("a full upper layer (a kept tmpdir on a 4 MiB filesystem): ENOSPC inside, a clean end", async () => {
  const mnt = mkdtempSync(join(tmpdir(), "tsminc-small-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]);
  try {
    for (const mode of [["--qemu"], []]) {
      const kept = join(mnt, mode.length ? "q" : "h");
      for (const d of ["storage", "work"]) mkdirSync(join(kept, d), { recursive: true });
      await guarded(root, async () => {
        const script =
          "dd if=/dev/zero of=/big bs=1M count=16 2>/dev/null; echo dd=$?; rm -f /big; echo ok >/small; cat /small";
        const r = await tsminc([...mode, "-r", root, "-t", kept, "sh", "-c", script]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.toString(), "dd=1\nok\n");
        assert.match(r.stderr, /^tsminc: kept /m);
      });
    }
  } finally {
    execFileSync("umount", [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
