// A user --config that breaks what ermine needs is refused by name, after a real olddefconfig, before any build.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { breedAll, tsermine } from "../helpers/cli.js";

test(
  "a fragment that disables a base option fails, naming the option and the fragment",
  { timeout: 600_000 },
  async () => {
    await breedAll(); // sources and trees in place
    const dir = mkdtempSync(join(tmpdir(), "tsminc-cfg-"));
    const fragment = join(dir, "no-overlay.config");
    writeFileSync(fragment, "# my kernel has no overlayfs\n# CONFIG_OVERLAY_FS is not set\n");
    const out = join(dir, "images");
    const r = await tsermine([
      "breed",
      "--arch",
      "x86_64",
      "--config",
      "smallconfig",
      "--config",
      fragment,
      "--out",
      out,
    ]);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /CONFIG_OVERLAY_FS=y \(base\.config\) is n: .*no-overlay\.config sets n/);
    assert.match(r.stderr, /hint: remove those lines/);
    assert.ok(!existsSync(out), "nothing was written to --out");
  },
);

test("a line that is not kconfig is refused before anything runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-cfg-"));
  const fragment = join(dir, "typo.config");
  writeFileSync(fragment, "CONFIG_OK=y\nOVERLAY_FS=y\n");
  const r = await tsermine(["breed", "--config", fragment, "--out", join(dir, "images")]);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /typo\.config:2: not a kconfig line: OVERLAY_FS=y/);
});
