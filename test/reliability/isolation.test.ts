// Isolation: the container cannot reach tsminc's files (run.sh, the arguments, the status, the
// tmpdir's host path), gets none of the caller's environment, inherits no stray descriptors, cannot mount unless given CAP_SYS_ADMIN, and in the
// VM cannot change anything outside its root through the 9p share or reach the host's disk.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { before, test } from "node:test";
import { MODES } from "../helpers/cases.js";
import { breedAll } from "../helpers/cli.js";
import { guarded } from "../helpers/guard.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { terminalSession, tsminc } from "../helpers/tsminc.js";

let root = "";
const MOUNT = "mkdir -p /m && mount -t tmpfs t /m";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
});

for (const [name, mode] of MODES) {
  test(`${name}: no run.sh, arguments, status file or host tmpdir path is visible inside`, async () => {
    await guarded(root, async () => {
      const script = [
        "find / -xdev \\( -name run.sh -o -name args -o -name exitcode -o -name mounts.list -o -name owner \\) -print",
        "cat /proc/self/mountinfo",
        "ls /run/tsminc /mnt/run.sh 2>/dev/null",
        "true",
      ].join("; ");
      const r = await tsminc([...mode, "-r", root, "-b", "/etc/hostname:/h", "sh", "-c", script]);
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout.toString();
      assert.doesNotMatch(out, /run\.sh|\/args$|exitcode|binds\.list|\/owner$/m);
      assert.doesNotMatch(out, /\/run\/tsminc|tsminc-/);
    });
  });

  test(`${name}: the environment is exactly PATH and HOME: nothing of the caller's, the VM kernel's or the entry shell's`, async () => {
    process.env.TSMINC_TEST_SECRET = "token";
    try {
      const extra = name === "--qemu" ? ["--append", "leak=1"] : [];
      const r = await tsminc([...mode, ...extra, "-r", root, "env"]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.toString().trimEnd().split("\n").sort(), [
        "HOME=/root",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ]);
      const user = await tsminc([...mode, "-r", root, "--user", "1000", "sh", "-c", 'echo "$HOME"']);
      assert.equal(user.stdout.toString(), "/\n", user.stderr);
    } finally {
      delete process.env.TSMINC_TEST_SECRET;
    }
  });

  test(`${name}: on a terminal, the caller's TERM is the container's`, async () => {
    const session = terminalSession(
      [...mode, "-r", root, "sh", "-c", 'echo "T=$TERM."'],
      { cols: 80, rows: 24 },
      {
        TERM: "xterm-256color",
      },
    );
    await session.waitFor(/T=xterm-256color\./);
    assert.equal(await session.exited, 0);
  });

  test(`${name}: the command inherits only stdin, stdout and stderr`, async () => {
    const r = await tsminc([...mode, "-r", root, "ls", "/proc/self/fd"]);
    assert.equal(r.status, 0, r.stderr);
    // 3 is ls's own handle on the folder it lists.
    assert.equal(r.stdout.toString(), "0\n1\n2\n3\n");
  });

  test(`${name}: mount is refused by default (no CAP_SYS_ADMIN); --cap-add SYS_ADMIN allows it`, async () => {
    await guarded(root, async () => {
      const denied = await tsminc([...mode, "-r", root, "sh", "-c", MOUNT]);
      assert.notEqual(denied.status, 0);
      assert.match(denied.stderr, /permission denied|not permitted/i);
      const allowed = await tsminc([...mode, "-r", root, "--cap-add", "SYS_ADMIN", "sh", "-c", MOUNT]);
      assert.equal(allowed.status, 0, allowed.stderr);
    });
  });
}

test("--qemu: writes through symlinks and .. in the 9p-backed root stay inside it", async () => {
  const hostname = readFileSync("/etc/hostname");
  await guarded(root, async () => {
    const script = [
      "ln -s /etc/hostname /l && echo pwned >/l",
      "ln -s / /up && echo x >/up/../../../../etc/tsminc-9p-escape",
      "cd / && cd ../../.. && echo y >tsminc-9p-escape2",
      "cat /etc/hostname",
    ].join(" && ");
    const r = await tsminc(["--qemu", "-r", root, "sh", "-c", script]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "pwned\n");
  });
  assert.deepEqual(readFileSync("/etc/hostname"), hostname);
  assert.throws(() => statSync("/etc/tsminc-9p-escape"));
  assert.throws(() => statSync("/tsminc-9p-escape2"));
});

test("--qemu: a device node for the host's disk, made in the container, cannot be read", async () => {
  const dev = statSync("/").dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 1048576) & 0xfff00);
  await guarded(root, async () => {
    const r = await tsminc([
      "--qemu",
      "-r",
      root,
      "sh",
      "-c",
      `mknod /disk b ${major} ${minor} && head -c 512 /disk | wc -c`,
    ]);
    // The node lives in the VM's view of the root; the guest kernel has no such disk, and qemu's 9p
    // server refuses to open special files on the host.
    assert.equal(r.stdout.toString().trim() || "0", "0", r.stderr);
  });
});
