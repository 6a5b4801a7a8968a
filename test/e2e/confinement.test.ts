// Default confinement, in ns mode as root and in the VM alike: docker's capability set, the seccomp
// filter, the device filter, /proc and /sys masked; and the switches that change it (--cap-add,
// --cap-drop, --privileged, --security-opt, --read-only); --group-add and --ulimit.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { MODES } from "../helpers/cases.js";
import { breedAll } from "../helpers/cli.js";
import { guarded } from "../helpers/guard.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { probeResults, syscallProbe } from "../helpers/syscall-probe.js";
import { tsminc } from "../helpers/tsminc.js";

let root = "";
let probe = "";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
  probe = syscallProbe();
});

/** docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP */
const DOCKER = "00000000a80425fb";
const status = (out: string, field: string) => new RegExp(`^${field}:\\s+(\\S+)$`, "m").exec(out)?.[1];
const capsOf = (out: string) => ({
  eff: status(out, "CapEff"),
  bnd: status(out, "CapBnd"),
  amb: status(out, "CapAmb"),
});

for (const [name, mode] of MODES) {
  const run = async (args: readonly string[], script: string) => {
    const r = await tsminc([...mode, "-r", root, ...args, "sh", "-c", script]);
    return { ...r, out: r.stdout.toString() };
  };

  test(`${name}: --user with --group-add and --ulimit: the ids, the supplementary groups and the limits`, async () => {
    const r = await run(
      ["--user", "5:6", "--group-add", "7", "--group-add", "8", "--ulimit", "nofile=100:200", "--ulimit", "core=0"],
      "cat /proc/self/status /proc/self/limits",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.out, /^Uid:\s+5\s+5\s+5\s+5$/m);
    assert.match(r.out, /^Gid:\s+6\s+6\s+6\s+6$/m);
    assert.match(r.out, /^Groups:\s+7 8\s*$/m);
    assert.match(r.out, /^Max open files\s+100\s+200\s+files/m);
    assert.match(r.out, /^Max core file size\s+0\s+0\s+bytes/m);
  });

  test(`${name}: docker's capabilities (bounding set too), nothing ambient, the seccomp filter on`, async () => {
    const r = await run([], "cat /proc/self/status");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(capsOf(r.out), { eff: DOCKER, bnd: DOCKER, amb: "0000000000000000" });
    assert.equal(status(r.out, "Seccomp"), "2");
  });

  test(`${name}: module loading, keys, the clock, reboot, unshare -U, mount, bpf, perf, handles: EPERM`, async () => {
    await guarded(root, async () => {
      const r = await tsminc([...mode, "-r", root, "-b", `${probe}:/probe`, "/probe"]);
      assert.equal(r.status, 0, r.stderr);
      const got = probeResults(r.stdout.toString());
      const refused = Object.keys(got).filter((call) => got[call] !== "EPERM");
      assert.deepEqual(refused, [], r.stdout.toString());
      assert.equal(Object.keys(got).length, 13);
    });
  });

  test(`${name}: a device node may be made but not opened, nor a disk mounted; the standard nodes open`, async () => {
    const script = [
      // /dev/kmsg (1:11): opens on this host and in the VM, for a root without the filter.
      "mknod /dev/k c 1 11 && echo mknod-ok",
      "(exec 3</dev/k) 2>/dev/null && echo kmsg-opened",
      // The host disk (254:0 here): made, never opened or mounted.
      "mknod /dev/d b 254 0 && mkdir /mm",
      "mount -t ext4 /dev/d /mm 2>/dev/null || echo mount-refused",
      "head -c1 /dev/d 2>&1 | grep -q 'not permitted' && echo disk-refused",
      "head -c4 /dev/zero | wc -c; head -c4 /dev/urandom | wc -c; echo x >/dev/null && echo null-ok",
    ].join("; ");
    const r = await run([], script);
    assert.equal(r.out, "mknod-ok\nmount-refused\ndisk-refused\n4\n4\nnull-ok\n");
    const privileged = await run(["--privileged"], "mknod /dev/k c 1 11 && (exec 3</dev/k) && echo kmsg-opened");
    assert.equal(privileged.out, "kmsg-opened\n", privileged.stderr);
  });

  test(`${name}: /proc/sys and friends are read-only, kcore, keys, timer_list read nothing, /sys is read-only`, async () => {
    const script = [
      "echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || echo sysctl-refused",
      "echo x >/proc/sysrq-trigger 2>/dev/null || echo sysrq-refused",
      "for f in kcore keys timer_list sched_debug; do printf '%s %s\\n' $f $(cat /proc/$f 2>/dev/null | wc -c); done",
      "ls /sys/firmware | wc -l",
      "touch /sys/x 2>/dev/null || echo sys-refused",
    ].join("; ");
    const r = await run([], script);
    assert.equal(
      r.out,
      "sysctl-refused\nsysrq-refused\nkcore 0\nkeys 0\ntimer_list 0\nsched_debug 0\n0\nsys-refused\n",
      r.stderr,
    );
    // What was masked is there without the masks: the test looks at real files.
    const open = await run(
      ["--privileged"],
      "cat /proc/timer_list | wc -c; grep -c ' /proc/sys ' /proc/self/mountinfo",
    );
    const [timerList, sysMounts] = open.out.trim().split("\n").map(Number);
    assert.ok((timerList ?? 0) > 0, open.out);
    assert.equal(sysMounts, 0);
  });

  test(`${name}: --cap-add SYS_ADMIN adds exactly it, --cap-drop CHOWN removes it, --privileged has them all`, async () => {
    const add = await run(["--cap-add", "SYS_ADMIN"], "cat /proc/self/status");
    assert.equal(capsOf(add.out).eff, "00000000a82425fb");
    const drop = await run(
      ["--cap-drop", "CHOWN"],
      "cat /proc/self/status; chown 5 /tmp 2>/dev/null || echo chown-refused",
    );
    assert.equal(capsOf(drop.out).eff, "00000000a80425fa");
    assert.match(drop.out, /chown-refused/);
    const all = await run(["--privileged"], "cat /proc/self/status");
    // What a root process has here: the host's own set in ns mode, every capability in the VM.
    const mine = name === "ns" ? capsOf(readFileSync("/proc/self/status", "utf8")).eff : "000001ffffffffff";
    assert.deepEqual([capsOf(all.out).eff, capsOf(all.out).bnd, status(all.out, "Seccomp")], [mine, mine, "0"]);
  });

  test(`${name}: --security-opt seccomp=unconfined lets unshare -U through; no-new-privileges sets it`, async () => {
    const unconfined = await run(
      ["--security-opt", "seccomp=unconfined"],
      "grep Seccomp: /proc/self/status; unshare -U true && echo userns-ok",
    );
    assert.match(unconfined.out, /^Seccomp:\s+0\nuserns-ok\n$/);
    const nnp = await run(["--security-opt", "no-new-privileges"], "grep NoNewPrivs /proc/self/status");
    assert.match(nnp.out, /^NoNewPrivs:\s+1$/m);
    const plain = await run([], "grep NoNewPrivs /proc/self/status");
    assert.match(plain.out, /^NoNewPrivs:\s+0$/m);
  });

  test(`${name}: --read-only: the root refuses writes, /tmp and binds take them, the rootfs stays untouched`, async () => {
    await guarded(root, async () => {
      const script =
        "touch /x 2>/dev/null || echo root-refused; touch /tmp/x && echo tmp-ok; echo y >/b/y && echo bind-ok";
      const dir = mkdtempSync(join(tmpdir(), "tsminc-ro-"));
      try {
        const r = await run(["--read-only", "-b", `${dir}:/b`], script);
        assert.equal(r.out, "root-refused\ntmp-ok\nbind-ok\n", r.stderr);
        assert.equal(readFileSync(join(dir, "y"), "utf8"), "y\n");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

test("ns mode: --privileged says in one line what it opens up", async () => {
  const r = await tsminc(["-r", root, "--privileged", "true"]);
  assert.equal(r.status, 0);
  assert.match(r.stderr, /^tsminc: --privileged: the container is root over this host/m);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});
