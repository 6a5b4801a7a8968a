// tsminc --qemu for real: the bred x86_64 image under TCG, on a busybox rootfs and a Debian minbase.
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { before, test, type TestContext } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { RUN_CASES } from "../helpers/cases.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { childNamed } from "../helpers/processes.js";
import { busyboxRootfs, debianRootfs, pickRootfs } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";
import { startTsminc, terminalSession, tsminc, TSMINC } from "../helpers/tsminc.js";
import { execa } from "execa";
import { treeHash } from "../helpers/tree-hash.js";

let busybox = "";
let debian: { dir: string } | { missing: string } = { missing: "not made yet" };

before(async () => {
  await breedAll();
  busybox = busyboxRootfs("x86_64");
  debian = await debianRootfs();
});

/** Runs `fn`, then fails if any tmpdir, mount or qemu of tsminc is left on the host. */
async function leavesNothing(fn: () => Promise<void>): Promise<void> {
  const before = snapshot();
  await fn();
  assert.deepEqual(await leftoversAfter(before), []);
}

const rootfsFor = (t: TestContext, which: "busybox" | "debian") => pickRootfs(t, which, { busybox, debian });

for (const which of ["busybox", "debian"] as const) {
  for (const c of RUN_CASES) {
    test(`${which}: ${c.name}`, async (t) => {
      const root = rootfsFor(t, which);
      if (root === undefined) return;
      await leavesNothing(async () => {
        const r = await tsminc(["--qemu", "-r", root, ...(c.flags ?? []), "--", ...c.command], c.input);
        assert.equal(r.status, c.status, r.stderr);
        if (c.stdout) assert.deepEqual(r.stdout, c.stdout, JSON.stringify(r.stdout.toString()));
        if (c.stderr) assert.match(r.stderr, c.stderr);
      });
    });
  }
}

test("debian: a glibc program runs: cat /etc/debian_version", async (t) => {
  const root = rootfsFor(t, "debian");
  if (root === undefined) return;
  const r = await tsminc(["--qemu", "-r", root, "cat", "/etc/debian_version"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /^12\.\d+\n$/);
});

test("the rootfs is byte-identical after the container deletes and rewrites files in it", async () => {
  const hash = treeHash(busybox);
  await leavesNothing(async () => {
    const r = await tsminc([
      "--qemu",
      "-r",
      busybox,
      "sh",
      "-c",
      "rm /bin/ls /etc/hostname && echo x > /etc/passwd && mkdir /new && touch /root/f && chmod 000 /etc/group",
    ]);
    assert.equal(r.status, 0, r.stderr);
  });
  assert.equal(treeHash(busybox), hash);
});

test("-k keeps the container's writes, -t sees them again", async () => {
  const first = await tsminc(["--qemu", "-k", "-r", busybox, "sh", "-c", "echo kept > /root/note"]);
  assert.equal(first.status, 0, first.stderr);
  const kept = /kept (\S+); reuse it with: tsminc --qemu -r \S+ -t \S+/.exec(first.stderr)?.[1];
  assert.ok(kept !== undefined, first.stderr);
  try {
    const second = await tsminc(["--qemu", "-r", busybox, "-t", kept, "cat", "/root/note"]);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout.toString(), "kept\n");
    assert.ok(!existsSync(join(busybox, "root/note")));
  } finally {
    rmSync(kept, { recursive: true, force: true });
  }
});

test("-n in the VM: the container's network namespace has only the loopback, up", async () => {
  const r = await tsminc(["--qemu", "-n", "-r", busybox, "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "lo\n0x9\n");
});

test("the guest's clock is the host's", async () => {
  const r = await tsminc(["--qemu", "-r", busybox, "date", "+%s"]);
  assert.ok(Math.abs(Number(r.stdout.toString()) - Date.now() / 1000) < 60, r.stdout.toString());
});

test("without --name the container is named like the host, as in MINCS", async () => {
  const r = await tsminc(["--qemu", "-r", busybox, "hostname"]);
  assert.equal(r.stdout.toString(), `${hostname()}\n`);
});

test("--name sets the hostname in the container", async () => {
  const r = await tsminc(["--qemu", "--name", "box-1", "-r", busybox, "hostname"]);
  assert.equal(r.stdout.toString(), "box-1\n");
});

test("-b binds a file and a directory (one read-only); a target behind a symlink lands inside the container", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-bind-"));
  writeFileSync(join(dir, "file"), "from the host\n");
  mkdirSync(join(dir, "folder"));
  mkdirSync(join(dir, "locked"));
  writeFileSync(join(dir, "folder", "inside"), "in a folder\n");
  // A copy of the busybox rootfs with /etc-link -> /etc: a bind through it must not reach the host's /etc.
  const root = join(dir, "root");
  cpSync(busybox, root, { recursive: true, verbatimSymlinks: true });
  symlinkSync("/etc", join(root, "etc-link"));
  try {
    await leavesNothing(async () => {
      const r = await tsminc([
        "--qemu",
        "-r",
        root,
        "-b",
        `${join(dir, "file")}:/etc-link/tsminc-bound`,
        "-b",
        `${join(dir, "folder")}:/opt/folder`,
        "-b",
        `${join(dir, "locked")}:/opt/locked:ro`,
        "sh",
        "-c",
        "cat /etc/tsminc-bound /opt/folder/inside && echo written > /opt/folder/new && ! touch /opt/locked/new",
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), "from the host\nin a folder\n");
      assert.match(r.stderr, /Read-only file system/);
    });
    assert.equal(readFileSync(join(dir, "folder", "new"), "utf8"), "written\n");
    assert.deepEqual(readdirSync(join(dir, "locked")), []);
    assert.ok(!existsSync("/etc/tsminc-bound"), "nothing landed in the host's /etc");
    assert.ok(!existsSync(join(root, "etc/tsminc-bound")), "the rootfs itself is untouched");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an interactive session: prompt, terminal size, live resize, Ctrl-C, exit 3", async () => {
  await leavesNothing(async () => {
    const s = terminalSession(["--qemu", "-r", busybox], { cols: 100, rows: 30 });
    await s.waitFor(/# $/);
    s.write("stty size\r");
    await s.waitFor(/\r\n30 100\r\n/);
    // The guest waits for the new size itself and says so: the test waits for that, not for a time.
    s.write(`until [ "$(stty size)" = "40 120" ]; do sleep 1; done; echo re''sized\r`);
    s.resize(120, 40);
    await s.waitFor(/\r\nresized\r\n/);
    s.write("stty size\r");
    await s.waitFor(/\r\n40 120\r\n/);
    s.write("echo sleep''ing; sleep 60\r");
    await s.waitFor(/\r\nsleeping\r\n/);
    s.write("\x03");
    await s.waitFor(/\^C\r\n# $/);
    s.write("exit 3\r");
    assert.equal(await s.exited, 3);
    assert.ok(!s.screen().includes("\r\r"), "no doubled carriage returns");
  });
});

test("Ctrl-] q kills the VM from the terminal: 255, and nothing remains", async () => {
  await leavesNothing(async () => {
    const s = terminalSession(["--qemu", "-r", busybox, "sh", "-c", "echo ready; sleep 60"], { cols: 80, rows: 24 });
    await s.waitFor(/ready/);
    s.write("\x1dq");
    assert.equal(await s.exited, 255);
    assert.match(s.screen(), /Ctrl-\] q: killing the VM/);
  });
});

test("the container sees its root only: not run.sh, the arguments, the status or the share", async () => {
  const r = await tsminc([
    "--qemu",
    "-r",
    busybox,
    "sh",
    "-c",
    "find / -xdev \\( -name run.sh -o -name args -o -name exitcode -o -name mounts.list \\) ; ls /; ls /dev/shm; ls /mnt 2>&1; true",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.toString();
  assert.ok(!/run\.sh|exitcode|binds\.list|storage|work/.test(out), out);
  assert.match(out, /\bbin\b/);
});

test("not root: --qemu refuses with 125 and a hint", async (t) => {
  const asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath];
  const readable = await execa("setpriv", [...asNobody, "-e", `require("fs").accessSync(${JSON.stringify(TSMINC)})`], {
    reject: false,
  });
  if (readable.exitCode !== 0) {
    const why = "uid 65534 cannot read this checkout (put it where others may read it)";
    skipBecause(t, why);
    return;
  }
  const r = await execa("setpriv", [...asNobody, TSMINC, "--qemu", "-r", busybox, "true"], {
    reject: false,
    stdin: "ignore",
  });
  assert.equal(r.exitCode, 125);
  assert.match(r.stderr, /needs root/);
  assert.match(r.stderr, /hint: run it as root/);
});

test("SIGTERM during boot: 143, and no qemu, mount or tmpdir remains", async () => {
  await leavesNothing(async () => {
    const run = startTsminc(["--qemu", "-r", busybox, "sleep", "60"]);
    await childNamed(run.pid, "qemu-system");
    run.kill("SIGTERM");
    assert.equal(await run.done, 143);
  });
});

test("SIGTERM while the command runs: 143, and nothing remains", async () => {
  await leavesNothing(async () => {
    const run = startTsminc(["--qemu", "-r", busybox, "sh", "-c", "echo started; sleep 60"]);
    await run.outputIncludes("started");
    run.kill("SIGTERM");
    assert.equal(await run.done, 143);
  });
});

test("qemu killed from outside: 255 (the guest reported nothing), and nothing remains", async () => {
  await leavesNothing(async () => {
    const run = startTsminc(["--qemu", "-r", busybox, "sh", "-c", "echo started; sleep 60"]);
    await run.outputIncludes("started");
    process.kill(await childNamed(run.pid, "qemu-system", 0), "SIGKILL");
    assert.equal(await run.done, 255);
  });
});

test("memory the guest frees goes back to the host while the run lasts (free page reporting)", async () => {
  await leavesNothing(async () => {
    const script =
      "dd if=/dev/zero of=/tmp/f bs=1M count=300 2>/dev/null; echo filled; rm /tmp/f; echo freed; sleep 60";
    const run = startTsminc(["--qemu", "--mem", "512M", "-r", busybox, "sh", "-c", script]);
    const rssMiB = (pid: number) =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
    await run.outputIncludes("filled");
    const qemu = await childNamed(run.pid, "qemu-system", 0);
    const full = rssMiB(qemu);
    assert.ok(full > 300, `qemu holds ${full} MiB with 300 MiB written in the guest`);
    await run.outputIncludes("freed");
    // The guest reports its free pages every 2 s or so; qemu then gives them back.
    const until = Date.now() + 60_000;
    while (rssMiB(qemu) > full - 200) {
      assert.ok(Date.now() < until, `qemu still holds ${rssMiB(qemu)} MiB, ${full} MiB before the free`);
      await new Promise((r) => setTimeout(r, 100));
    }
    run.kill("SIGTERM");
    assert.equal(await run.done, 143);
  });
});

test("a job that needs 400 MiB runs in the default-sized VM; in --mem 128M it is OOM-killed (137)", async () => {
  // 400 strings of 1 MiB each, every byte written: the guest must hold 400 MiB at once. Each
  // allocation is small, so a small guest's kernel grants it and its OOM killer ends the job.
  const job = ["awk", 'BEGIN { for (i = 0; i < 400; i++) a[i] = sprintf("%1048576d", i); print length(a[399]) }'];
  await leavesNothing(async () => {
    const r = await tsminc(["--qemu", "-r", busybox, ...job]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "1048576\n");
    const small = await tsminc(["--qemu", "--mem", "128M", "-r", busybox, ...job]);
    assert.equal(small.status, 137, small.stderr);
  });
});

test("--dry-run prints the plan and the qemu argv, and starts nothing", async () => {
  await leavesNothing(async () => {
    const r = await tsminc(["--qemu", "--dry-run", "-r", busybox, "sh", "-c", "echo $HOME"]);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, /^tsminc: dry run, nothing was started$/m);
    assert.match(out, /^command +sh -c 'echo \$HOME'$/m);
    assert.match(
      out,
      /^ {2}\S+\/x86_64\/nsrun (--incoming 3 \S+\.state )?--net --slirp .* --bridge tsminc0 --exec \/run\/tsminc\/tsminc-RANDOM \S+ -- qemu-system-x86_64 -M microvm .*-kernel \S+\/bzImage.* -netdev tap,id=net0,ifname=tsminc0/m,
    );
    // A warm start: nsrun opens the saved state as qemu's descriptor 3, which qemu resumes from.
    const resumes = /^start +resume (\S+\.state) /m.exec(out)?.[1];
    if (resumes !== undefined) assert.match(out, new RegExp(`nsrun --incoming 3 ${resumes} .* -incoming fd:3$`, "m"));
  });
});

const errorCases: { name: string; args: string[]; message: RegExp; hint: RegExp }[] = [
  {
    name: "a VM bigger than the host's memory",
    args: ["--mem", `${Math.ceil(totalmem() / 2 ** 30) + 1}G`],
    message: /--mem \d+M is more than this host's memory \(\d+ MiB\)/,
    hint: /give --mem \d+M at most, or leave it out/,
  },
  {
    name: "no image for the arch",
    args: ["--ermine", "/nonexistent"],
    message: /no x86_64 ermine image in \/nonexistent/,
    hint: /tsermine breed --arch x86_64/,
  },
  {
    name: "a missing rootfs",
    args: ["-r", "/nonexistent/root"],
    message: /rootfs \/nonexistent\/root does not exist/,
    hint: /-r/,
  },
  { name: "a rootfs that is a file", args: ["-r", "/etc/passwd"], message: /is not a folder/, hint: /-r/ },
  { name: "a bad --mem", args: ["--mem", "lots"], message: /--mem takes a size/, hint: /--mem 256M/ },
  { name: "an unknown option", args: ["--bogus"], message: /unknown option '--bogus'/, hint: /tsminc --help/ },
];

for (const c of errorCases) {
  test(`bad input: ${c.name}: one line, a hint, 125, nothing left`, async () => {
    await leavesNothing(async () => {
      const r = await tsminc(["--qemu", "-r", busybox, ...c.args, "true"]);
      assert.equal(r.status, 125);
      const [message, hint, ...rest] = r.stderr.trimEnd().split("\n");
      assert.match(message ?? "", c.message);
      assert.match(hint ?? "", c.hint);
      assert.deepEqual(rest, []);
    });
  });
}
