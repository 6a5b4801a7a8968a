// A change to guest-init only repacks the initramfs: kernel, busybox, confine and nsrun come from the cache.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { breed } from "../../breeder/breed.js";
import { toBuildConfig } from "../../breeder/build-config.js";
import { cacheDir, defaultImagesDir, guestInitDir } from "../../src/host/paths.js";
import { sha256Text } from "../../src/host/hash.js";
import { spawnRunner } from "../../src/host/spawn-runner.js";
import { breedAll } from "../helpers/cli.js";

test("editing guest-init repacks only the initramfs", async () => {
  await breedAll();
  const dir = mkdtempSync(join(tmpdir(), "tsminc-repack-"));
  const initDir = join(dir, "guest-init");
  cpSync(guestInitDir, initDir, { recursive: true });
  writeFileSync(join(initDir, "init"), readFileSync(join(initDir, "init"), "utf8") + `# edited ${Date.now()}\n`);
  const progress = new PassThrough();
  let shown = "";
  progress.on("data", (d: Buffer) => (shown += d.toString()));
  const out = join(dir, "images");
  await breed(toBuildConfig({ arch: "x86_64", out }, { cpus: 2, defaultOutDir: out, isDirectory: existsSync }), {
    runner: spawnRunner,
    cacheDir: cacheDir(),
    out: progress,
    hostNodeArch: process.arch,
    probe: { hasProgram: () => true, hasFile: () => true },
    guestInitDir: initDir,
  });
  for (const step of ["kernel", "busybox", "confine", "nsrun"])
    assert.match(shown, new RegExp(`x86_64: ${step} +cached`), shown);
  assert.match(shown, /x86_64: initramfs +done/, shown);
  const initramfs = (root: string) => sha256Text(readFileSync(join(root, "x86_64", "initramfs.cpio.gz")));
  assert.notEqual(initramfs(out), initramfs(defaultImagesDir));
  assert.equal(
    readFileSync(join(out, "x86_64", "bzImage")).equals(readFileSync(join(defaultImagesDir, "x86_64", "bzImage"))),
    true,
  );
});
