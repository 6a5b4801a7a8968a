// Breeder faults: a corrupted tarball from a mirror, a build killed midway, a cache on a full
// filesystem. Each gives a clear error, and never an image that looks complete but is not.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { execa } from "execa";
import { cacheDir, packageRoot } from "../../src/host/paths.js";
import { breedAll, tsermine } from "../helpers/cli.js";
import { processesNaming } from "../helpers/processes.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { startTarballServer } from "../helpers/tarball-server.js";
import { tsminc } from "../helpers/tsminc.js";

let work = "";

before(async () => {
  await breedAll();
  work = mkdtempSync(join(tmpdir(), "tsminc-breeder-faults-"));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A cache of its own that borrows the real cache's `parts` (by symlink): no download, no rebuild. */
function borrowedCache(name: string, parts: readonly string[], skipArtifact?: RegExp): string {
  const cache = join(work, name);
  mkdirSync(cache, { recursive: true });
  for (const part of parts) {
    const from = join(cacheDir(), part);
    mkdirSync(join(cache, part), { recursive: true });
    for (const entry of readdirSync(from)) {
      if (skipArtifact?.test(entry) || entry.includes(".tmp-")) continue;
      symlinkSync(join(from, entry), join(cache, part, entry));
    }
  }
  return cache;
}

test("a corrupted tarball from a mirror: a checksum error, the file not kept, no image", async () => {
  const server = await startTarballServer();
  try {
    for (const file of ["linux-6.1.127.tar.xz", "busybox-1.35.0.tar.bz2"]) {
      server.files.set(`/${file}`, { body: Buffer.from("not a tarball at all, just some bytes") });
    }
    const cache = join(work, "mirror-cache");
    const out = join(work, "mirror-out");
    const r = await tsermine(["breed", "--sources", server.url, "--out", out], { TSMINC_CACHE: cache });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /^tsermine: checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/linux-6\.1\.127\.tar\.xz/m);
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      readdirSync(join(cache, "sources")).filter((f) => f.startsWith("linux-6.1.127")),
      [],
    );
  } finally {
    await server.close();
  }
});

test("a build killed midway (SIGKILL): no image, no half artifact; the next run completes it", async () => {
  // Everything but busybox comes from the real cache, so only busybox (about 20 s) is built.
  const cache = borrowedCache("killed-cache", ["sources", "src", "artifacts"], /^busybox-x86_64-/);
  const out = join(work, "killed-out");
  const child = execa(process.execPath, [join(packageRoot, "dist/src/cli/tsermine.js"), "breed", "--out", out], {
    env: { TSMINC_CACHE: cache },
    reject: false,
    stdin: "ignore",
  });
  const artifacts = join(cache, "artifacts");
  const until = Date.now() + 120_000;
  while (!readdirSync(artifacts).some((e) => e.startsWith("busybox-x86_64-") && e.includes(".tmp-"))) {
    assert.ok(Date.now() < until, "the busybox build never started");
    await new Promise((r) => setTimeout(r, 200));
  }
  // Midway: once the compiler has started on busybox's sources (a "  CC" line in the build log).
  const logs = join(cache, "logs");
  const compiling = () => readdirSync(logs).some((log) => /^\s+CC\s/m.test(readFileSync(join(logs, log), "utf8")));
  while (!compiling()) {
    assert.ok(Date.now() < until, "busybox never started compiling");
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  await child;
  assert.equal(existsSync(join(out, "x86_64", "manifest.json")), false);
  assert.ok(
    !readdirSync(artifacts).some((e) => /^busybox-x86_64-[0-9a-f]+$/.test(e)),
    "a busybox artifact looks complete",
  );
  // The compilers it started end by themselves (their output pipe is gone).
  const stop = Date.now() + 30_000;
  while (processesNaming(cache).length > 0 && Date.now() < stop) await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(processesNaming(cache), []);

  const again = await tsermine(["breed", "--out", out], { TSMINC_CACHE: cache });
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout + again.stderr, /x86_64: busybox +done/);
  assert.deepEqual(
    readdirSync(artifacts).filter((e) => e.includes(".tmp-")),
    [],
    "stale build folders were left",
  );
  // The image is whole: it boots and runs a command.
  const r = await tsminc(
    ["--qemu", "--ermine", out, "-r", busyboxRootfs("x86_64"), "echo", "whole"],
    undefined,
    undefined,
    {
      TSMINC_CACHE: cache,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "whole\n");
});

test("a cache on a full filesystem: a clear 'no space' error naming the fix, no image", async () => {
  const cache = join(work, "full-cache");
  mkdirSync(cache);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", cache]);
  try {
    mkdirSync(join(cache, "sources"));
    for (const entry of readdirSync(join(cacheDir(), "sources"))) {
      symlinkSync(join(cacheDir(), "sources", entry), join(cache, "sources", entry));
    }
    const out = join(work, "full-out");
    const r = await tsermine(["breed", "--out", out], { TSMINC_CACHE: cache });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^tsermine: cannot unpack .*: no space left on device under /m);
    assert.match(r.stderr, /^tsermine: hint: free some space there, or set TSMINC_CACHE/m);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(join(cache, "src")), []);
  } finally {
    execFileSync("umount", [cache]);
  }
});
