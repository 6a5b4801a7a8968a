// ns-mode --arch: foreign busybox roots run without a VM, through the host's binfmt_misc and
// qemu-user; the shared run cases on each; a handler without the F flag gets its interpreter bound
// read-only inside the root.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test, type TestContext } from "node:test";
import { ARCHES, type ArchName } from "../../src/core/arch.js";
import { BINFMT_DIR, binfmtFor } from "../../src/core/binfmt.js";
import { probeBinfmt } from "../../src/host/binfmt.js";
import { breedAll } from "../helpers/cli.js";
import { RUN_CASES } from "../helpers/cases.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { binfmtMissing, busyboxRootfs, debianRootfsOrSkip } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";
import { treeHash } from "../helpers/tree-hash.js";
import { tsminc } from "../helpers/tsminc.js";

const roots: Record<string, string> = {};

before(async () => {
  await breedAll();
  for (const arch of ["arm64", "arm"] as const) roots[arch] = busyboxRootfs(arch);
});

/** Skips (saying what is missing) unless this host's binfmt_misc runs `arch` programs. */
function needsBinfmt(t: TestContext, arch: ArchName): boolean {
  const missing = binfmtMissing(arch);
  if (missing === undefined) return true;
  skipBecause(t, missing);
  return false;
}

for (const arch of ["arm64", "arm"] as const) {
  test(`ns mode, ${arch}: uname -m prints ${ARCHES[arch].unameMachine} through qemu-user`, async (t) => {
    if (!needsBinfmt(t, arch)) return;
    const before = snapshot();
    const r = await tsminc(["--arch", arch, "-r", roots[arch] ?? "", "uname", "-m"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${ARCHES[arch].unameMachine}\n`);
    assert.equal(r.stderr, "");
    assert.deepEqual(await leftoversAfter(before), []);
  });

  for (const c of RUN_CASES) {
    test(`ns mode, ${arch}: ${c.name}`, async (t) => {
      if (!needsBinfmt(t, arch)) return;
      const r = await tsminc(
        ["--arch", arch, "-r", roots[arch] ?? "", ...(c.flags ?? []), "--", ...c.command],
        c.input,
      );
      assert.equal(r.status, c.status, r.stderr);
      if (c.stdout) assert.deepEqual(r.stdout, c.stdout, JSON.stringify(r.stdout.toString()));
      if (c.stderr) assert.match(r.stderr, c.stderr);
    });
  }
}

test("ns mode: the Debian arm64 minbase runs cat /etc/debian_version, and stays untouched", async (t) => {
  if (!needsBinfmt(t, "arm64")) return;
  const dir = await debianRootfsOrSkip(t, "arm64");
  if (dir === undefined) return;
  const hash = treeHash(dir);
  const r = await tsminc(["-r", dir, "sh", "-c", "cat /etc/debian_version; dpkg --print-architecture; rm -rf /etc"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /^12\.\d+\narm64\n$/);
  assert.equal(treeHash(dir), hash);
});

test("ns mode: a mismatched --arch and rootfs is one line, a hint, 125", async () => {
  const r = await tsminc(["--arch", "arm64", "-r", roots.arm ?? "", "true"]);
  assert.equal(r.status, 125);
  assert.match(
    r.stderr,
    /^tsminc: rootfs \S+ is built for arm, not --arch arm64\ntsminc: hint: drop --arch, or use --arch arm\n$/,
  );
});

test("ns mode: a binfmt handler without F has its interpreter bound read-only inside the root", async (t) => {
  if (!needsBinfmt(t, "arm")) return;
  if (process.getuid?.() !== 0) {
    skipBecause(t, "registering a binfmt_misc handler needs root");
    return;
  }
  const own = binfmtFor("arm", probeBinfmt().entries);
  assert.ok(own);
  // Debian's handler has F; for this test a copy without it takes its place, then Debian's comes back.
  const name = "tsminc-test-arm";
  const interpreter = own.interpreter;
  const flags = own.flags.replace("F", "");
  const mask = own.mask.toString("hex").replace(/(..)/g, "\\x$1");
  const magic = own.magic.toString("hex").replace(/(..)/g, "\\x$1");
  writeFileSync(join(BINFMT_DIR, own.name), "0");
  try {
    writeFileSync(join(BINFMT_DIR, "register"), `:${name}:M:${own.offset}:${magic}:${mask}:${interpreter}:${flags}\n`);
    assert.match(readFileSync(join(BINFMT_DIR, name), "utf8"), new RegExp(`^flags: ${flags}$`, "m"));
    const root = roots.arm ?? "";
    const hash = treeHash(root);
    const before = snapshot();
    const r = await tsminc([
      "-r",
      root,
      "sh",
      "-c",
      `uname -m; grep -c ' ${interpreter} ro,' /proc/self/mountinfo; (: >${interpreter}) 2>/dev/null || echo refused`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "armv7l\n1\nrefused\n");
    assert.match(r.stderr, /^tsminc: rootfs \S+ is built for arm: running it with --arch arm\n$/);
    assert.equal(treeHash(root), hash);
    assert.deepEqual(await leftoversAfter(before), []);
  } finally {
    try {
      writeFileSync(join(BINFMT_DIR, name), "-1");
    } finally {
      writeFileSync(join(BINFMT_DIR, own.name), "1");
    }
  }
});
