// Layer tar paths classified: entries, whiteouts, opaque markers, aufs metadata skipped, hostile names refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MincError } from "../../src/core/errors.js";
import { classifyLayerPath, hardLinkTarget } from "../../src/core/layer-path.js";

/** Asserts that `check` throws a "layer" MincError with a hint, its message matching `message`. */
function refused(check: () => unknown, message: RegExp): void {
  assert.throws(check, (err: unknown) => {
    assert.ok(err instanceof MincError, `not a MincError: ${String(err)}`);
    assert.equal(err.code, "layer");
    assert.match(err.message, message);
    assert.ok(err.hint !== undefined && err.hint !== "", "it has a hint");
    return true;
  });
}

test("entries: relative, '/'-joined, '.' and empty components dropped, the root as ''", () => {
  assert.deepEqual(classifyLayerPath("etc/passwd"), { kind: "entry", path: "etc/passwd" });
  assert.deepEqual(classifyLayerPath("./usr//bin/./sh"), { kind: "entry", path: "usr/bin/sh" });
  assert.deepEqual(classifyLayerPath("etc/"), { kind: "entry", path: "etc" });
  for (const root of ["./", ".", ""]) assert.deepEqual(classifyLayerPath(root), { kind: "entry", path: "" });
  assert.deepEqual(
    classifyLayerPath("a/..b/c.wh.d"),
    { kind: "entry", path: "a/..b/c.wh.d" },
    "only whole names count",
  );
});

test("whiteouts name the file of the lower layers to delete", () => {
  assert.deepEqual(classifyLayerPath(".wh.gone"), { kind: "whiteout", path: "gone" });
  assert.deepEqual(classifyLayerPath("./etc/.wh.motd"), { kind: "whiteout", path: "etc/motd" });
  assert.deepEqual(classifyLayerPath("a/b/.wh..hidden"), { kind: "whiteout", path: "a/b/.hidden" });
});

test("opaque markers name their folder, the root included", () => {
  assert.deepEqual(classifyLayerPath("var/cache/.wh..wh..opq"), { kind: "opaque", dir: "var/cache" });
  assert.deepEqual(classifyLayerPath("./.wh..wh..opq"), { kind: "opaque", dir: "" });
  assert.deepEqual(classifyLayerPath(".wh..wh..opq"), { kind: "opaque", dir: "" });
});

test("aufs's own .wh..wh.* names are skipped, as files and as folders", () => {
  for (const raw of [".wh..wh.aufs", "x/.wh..wh.orph", ".wh..wh.plnk/123.456", "a/.wh..wh.plnk/b/c"]) {
    assert.deepEqual(classifyLayerPath(raw), { kind: "ignore" }, raw);
  }
});

test("hostile or malformed entry paths are refused", () => {
  refused(() => classifyLayerPath("/etc/passwd"), /^entry "\/etc\/passwd" is absolute$/);
  refused(() => classifyLayerPath("../escaped"), /^entry "\.\.\/escaped" has a "\.\." component$/);
  refused(() => classifyLayerPath("a/../../b"), /has a "\.\." component/);
  refused(() => classifyLayerPath("a/.."), /has a "\.\." component/);
  refused(() => classifyLayerPath("a\0b"), /has a NUL byte/);
  refused(() => classifyLayerPath(".wh.x/y"), /^entry "\.wh\.x\/y" has a whiteout name as a folder$/);
});

test("a whiteout without a name is refused", () => {
  refused(() => classifyLayerPath(".wh."), /^whiteout "\.wh\." names no file$/);
  refused(() => classifyLayerPath("a/.wh."), /^whiteout "a\/\.wh\." names no file$/);
  refused(() => classifyLayerPath("a/.wh.."), /names no file/);
  refused(() => classifyLayerPath("a/.wh..."), /names no file/);
});

test("hard link targets: in-layer paths; absolute, '..', NUL and the root refused", () => {
  assert.equal(hardLinkTarget("./bin/su"), "bin/su");
  assert.equal(hardLinkTarget("usr//lib/./x"), "usr/lib/x");
  refused(() => hardLinkTarget("/etc/passwd"), /^hard link target "\/etc\/passwd" is absolute$/);
  refused(
    () => hardLinkTarget("../../etc/passwd"),
    /^hard link target "\.\.\/\.\.\/etc\/passwd" has a "\.\." component$/,
  );
  refused(() => hardLinkTarget("a\0"), /has a NUL byte/);
  refused(() => hardLinkTarget("./"), /is the root$/);
  refused(() => hardLinkTarget(""), /is the root$/);
});
