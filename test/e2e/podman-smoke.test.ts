// podman itself works here (with runc), as the tsminc-runtime tests will drive it: exit status, stdout,
// stderr and stdin of `podman run --rm` on an imported busybox root.
import assert from "node:assert/strict";
import { test } from "node:test";
import { podman, podmanImage, podmanMissing } from "../helpers/podman.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";

test("podman run --rm with runc: status, stdout, stderr and stdin", { timeout: 60_000 }, async (t) => {
  const missing = podmanMissing();
  if (missing !== undefined) {
    skipBecause(t, missing);
    return;
  }
  const image = await podmanImage(busyboxRootfs("x86_64"), "tsminc-test-busybox");

  const r = await podman(["run", "--rm", image, "sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.deepEqual(
    { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr },
    { status: 3, stdout: "out\n", stderr: "err\n" },
  );

  const cat = await podman(["run", "--rm", "-i", image, "cat"], { input: "abc" });
  assert.deepEqual(
    { status: cat.status, stdout: cat.stdout.toString(), stderr: cat.stderr },
    {
      status: 0,
      stdout: "abc",
      stderr: "",
    },
  );

  // The image is cached: asking again with the same root imports nothing.
  assert.equal(await podmanImage(busyboxRootfs("x86_64"), "tsminc-test-busybox"), image);
});
