// Many runs: 8 containers at once per mode, each with its own output and status and no cross-talk;
// then a soak of 100 sequential runs per mode that must leak nothing.
import assert from "node:assert/strict";
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

// Each run writes its own file into its root and reads it back: overlays that leaked would see others'.
const SCRIPT =
  'echo "$1" >/mine; sleep 1; [ "$(ls /mine*)" = /mine ] && echo "out-$(cat /mine)"; echo "err-$1" >&2; exit "$1"';

for (const mode of [["--qemu"], []]) {
  const name = mode.length ? "--qemu" : "host";
  test(`${name}: 8 containers at once, each with its own stdout, stderr and status`, async () => {
    await guarded(root, async () => {
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => tsminc([...mode, "-r", root, "sh", "-c", SCRIPT, "sh", String(i + 1)])),
      );
      runs.forEach((r, i) => {
        assert.equal(r.status, i + 1, r.stderr);
        assert.equal(r.stdout.toString(), `out-${i + 1}\n`);
        assert.equal(r.stderr, `err-${i + 1}\n`);
      });
    });
  });

  test(`${name}: a soak of 100 sequential runs leaks no tmpdir, mount, process or cgroup`, async () => {
    await guarded(root, async () => {
      for (let i = 0; i < 100; i++) {
        const r = await tsminc([...mode, "-r", root, "--pid-max", "50", "sh", "-c", "echo $0", String(i)]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.toString(), `${i}\n`);
      }
    });
  });
}
