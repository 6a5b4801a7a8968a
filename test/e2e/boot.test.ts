// Each built image boots under qemu (TCG), runs the share's run.sh, and its exit status reaches the host.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ARCH_NAMES, ARCHES } from "../../src/core/arch.js";
import { bootWithRunSh, breedAll } from "../helpers/cli.js";

for (const arch of ARCH_NAMES) {
  const info = ARCHES[arch];

  test(`${arch}: run.sh runs, the console shows only its output, and status 7 comes back`, async () => {
    await breedAll();
    const r = await bootWithRunSh(arch, info.kernelImage, "echo hello from guest\nuname -m\nexit 7\n");
    assert.equal(r.console, `hello from guest\r\n${info.unameMachine}\r\n`);
    assert.equal(r.exitcode, "7");
    assert.equal(r.qemuStatus, 0, "the guest powered off cleanly");
  });

  test(`${arch}: the guest has what containers need: confine, seccomp, overlayfs, namespaces, cgroup v2`, async () => {
    await breedAll();
    const script = [
      "/lib/ermine/confine --caps 0 --seccomp -- /bin/sh -c 'grep -E \"^(CapBnd|Seccomp):\" /proc/self/status'",
      "grep -qw overlay /proc/filesystems && echo overlay-ok",
      "unshare -m -u -i -p -n -f sh -c 'hostname inner && hostname && echo pid=$$'",
      "cat /sys/fs/cgroup/cgroup.controllers",
      "exit 0",
      "",
    ].join("\n");
    const r = await bootWithRunSh(arch, info.kernelImage, script);
    const lines = r.console.split("\r\n");
    assert.ok(lines.includes("CapBnd:\t0000000000000000"), r.console);
    assert.ok(lines.includes("Seccomp:\t2"), r.console);
    assert.ok(lines.includes("overlay-ok"), r.console);
    assert.ok(lines.includes("inner") && lines.includes("pid=1"), r.console);
    assert.match(r.console, /\bmemory\b/);
    assert.match(r.console, /\bpids\b/);
    assert.match(r.console, /\bcpu\b/);
    assert.equal(r.exitcode, "0");
  });
}
