// Kconfig fragments: parsing, ordered merging, rewriting a .config, and the survival check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MincError } from "../../src/core/errors.js";
import {
  applyOptions,
  checkSurvival,
  describeMismatch,
  mergeFragments,
  parseConfig,
  parseFragment,
} from "../../breeder/kconfig.js";

const base = parseFragment("base.config", "# why\nCONFIG_OVERLAY_FS=y\nCONFIG_9P_FS=y\nCONFIG_PRINTK=y\n");
const arch = parseFragment("x86_64.config", "CONFIG_SERIAL_8250=y\n");

test("a fragment reads set, unset and string options and its #@start line", () => {
  const f = parseFragment(
    "f",
    '#@start defconfig\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=42\n\n# note\n',
  );
  assert.equal(f.start, "defconfig");
  assert.deepEqual(
    [...f.options],
    [
      ["A", "y"],
      ["B", "n"],
      ["C", '"x y"'],
      ["D", "42"],
    ],
  );
});

test("a line that is not kconfig is an error naming the file and line", () => {
  assert.throws(
    () => parseFragment("my.config", "CONFIG_A=y\nOVERLAY=y\n"),
    (err: unknown) => {
      assert.ok(err instanceof MincError);
      assert.match(err.message, /^my\.config:2: not a kconfig line: OVERLAY=y$/);
      return true;
    },
  );
});

test("later fragments win, and the last #@start is the start target", () => {
  const user = parseFragment("user.config", "#@start defconfig\n# CONFIG_PRINTK is not set\n");
  const merged = mergeFragments([base, arch, user], "tinyconfig");
  assert.equal(merged.start, "defconfig");
  assert.equal(merged.options.get("PRINTK")?.value, "n");
  assert.equal(merged.options.get("PRINTK")?.from, "user.config");
  assert.equal(mergeFragments([base], "tinyconfig").start, "tinyconfig");
});

test("applyOptions replaces existing lines for merged symbols and keeps the rest", () => {
  const merged = mergeFragments([base], "tinyconfig");
  const out = applyOptions("CONFIG_X=y\n# CONFIG_OVERLAY_FS is not set\nCONFIG_PRINTK=n\n", merged);
  const lines = out.split("\n");
  assert.ok(lines.includes("CONFIG_X=y"));
  assert.ok(lines.includes("CONFIG_OVERLAY_FS=y"));
  assert.ok(!lines.includes("# CONFIG_OVERLAY_FS is not set"));
  assert.equal(lines.filter((l) => l.includes("PRINTK")).length, 1);
});

test("a user fragment that disables a base option is reported by name, with the fragment that did it", () => {
  const user = parseFragment("mine.config", "# CONFIG_OVERLAY_FS is not set\nCONFIG_FOO=y\n");
  const merged = mergeFragments([base, arch, user], "tinyconfig");
  const final = parseConfig("CONFIG_9P_FS=y\nCONFIG_PRINTK=y\nCONFIG_SERIAL_8250=y\n# CONFIG_OVERLAY_FS is not set\n");
  const report = checkSurvival(merged, final, new Set(["base.config", "x86_64.config"]));
  assert.equal(report.brokenProtected.length, 1);
  const [broken] = report.brokenProtected;
  assert.ok(broken);
  assert.equal(broken.symbol, "OVERLAY_FS");
  assert.equal(broken.overriddenBy, "mine.config");
  assert.equal(describeMismatch(broken), "CONFIG_OVERLAY_FS=y (base.config) is n: mine.config sets n");
  // CONFIG_FOO was the user's own wish; olddefconfig dropped it, which is a notice, not an error.
  assert.deepEqual(
    report.dropped.map((d) => d.symbol),
    ["FOO"],
  );
});

test("a base option that olddefconfig drops on its own is broken too, blamed on a dependency", () => {
  const merged = mergeFragments([base], "tinyconfig");
  const report = checkSurvival(merged, parseConfig("CONFIG_OVERLAY_FS=y\nCONFIG_PRINTK=y\n"), new Set(["base.config"]));
  assert.deepEqual(report.brokenProtected.map(describeMismatch), [
    "CONFIG_9P_FS=y (base.config) is n: a dependency is off",
  ]);
});
