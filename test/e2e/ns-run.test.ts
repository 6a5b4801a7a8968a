// tsminc on the host (no --qemu): the same run cases as in the VM, on a busybox and a Debian root,
// and what must stay on the container's side: hostname, mounts, rootfs writes.
import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { before, test, type TestContext } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { RUN_CASES } from "../helpers/cases.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs, debianRootfs, pickRootfs } from "../helpers/rootfs.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";
import { treeHash } from "../helpers/tree-hash.js";

/** pids whose argv is exactly `argv` */
function processesWithArgv(argv: readonly string[]): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8") === argv.map((a) => `${a}\0`).join("");
      } catch {
        return false;
      }
    });
}

let busybox = "";
let debian: { dir: string } | { missing: string } = { missing: "not made yet" };

before(async () => {
  await breedAll();
  busybox = busyboxRootfs("x86_64");
  debian = await debianRootfs();
});

const rootfsFor = (t: TestContext, which: "busybox" | "debian") => pickRootfs(t, which, { busybox, debian });

for (const which of ["busybox", "debian"] as const) {
  for (const c of RUN_CASES) {
    test(`ns ${which}: ${c.name}`, async (t) => {
      const root = rootfsFor(t, which);
      if (root === undefined) return;
      const before = snapshot();
      const r = await tsminc(["-r", root, ...(c.flags ?? []), "--", ...c.command], c.input);
      assert.equal(r.status, c.status, r.stderr);
      if (c.stdout) assert.deepEqual(r.stdout, c.stdout, JSON.stringify(r.stdout.toString()));
      if (c.stderr) assert.match(r.stderr, c.stderr);
      assert.deepEqual(await leftoversAfter(before), []);
    });
  }
}

test("ns: --name sets the container's hostname and leaves the host's alone", async () => {
  const r = await tsminc(["--name", "inner-box", "-r", busybox, "hostname"]);
  assert.equal(r.stdout.toString(), "inner-box\n");
  assert.equal(hostname(), execSync("hostname").toString().trim());
  assert.notEqual(hostname(), "inner-box");
});

test("ns: mounts made in the container (given CAP_SYS_ADMIN) are not in the host's mount namespace", async () => {
  const r = await tsminc([
    "-r",
    busybox,
    "--cap-add",
    "SYS_ADMIN",
    "sh",
    "-c",
    "mkdir -p /mnt/t && mount -t tmpfs tsminc-probe /mnt/t && grep -c tsminc-probe /proc/mounts",
  ]);
  assert.equal(r.stdout.toString(), "1\n", r.stderr);
  assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes("tsminc-probe"));
});

test("ns: the rootfs is byte-identical after the container rewrites it, and binds reach the host", async () => {
  const hash = treeHash(busybox);
  const dir = mkdtempSync(join(tmpdir(), "tsminc-hostbind-"));
  writeFileSync(join(dir, "in"), "from the host\n");
  try {
    const r = await tsminc([
      "-r",
      busybox,
      "-b",
      `${dir}:/data`,
      "-b",
      `${dir}:/locked:ro`,
      "sh",
      "-c",
      "cat /data/in; echo out > /data/out; rm /bin/ls; echo x > /etc/passwd; ! touch /locked/new",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "from the host\n");
    assert.equal(readFileSync(join(dir, "out"), "utf8"), "out\n");
    assert.ok(!existsSync(join(dir, "new")), "the read-only bind took no write");
    assert.equal(treeHash(busybox), hash);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ns: SIGTERM ends the container's pid namespace: 143, and nothing remains", async () => {
  const before = snapshot();
  const run = startTsminc(["-r", busybox, "sh", "-c", "echo started; exec sleep 61"]);
  await run.outputIncludes("started");
  run.kill("SIGTERM");
  assert.equal(await run.done, 143);
  assert.deepEqual(await leftoversAfter(before), []);
  // The kernel takes the namespace down right after; give it a moment, then nothing may run.
  const sleeping = () => processesWithArgv(["sleep", "61"]);
  for (let i = 0; i < 40 && sleeping().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(sleeping(), []);
});

test("ns: -n gives the container a network namespace with only the loopback, up", async () => {
  const r = await tsminc(["-n", "-r", busybox, "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "lo\n0x9\n");
});

test("ns: --user 1000:1000 runs the command with those ids", async () => {
  const r = await tsminc(["--user", "1000:1000", "-r", busybox, "sh", "-c", "id -u; id -g"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "1000\n1000\n");
});

test("ns: mount points that are symlinks out of the rootfs are replaced inside it, never followed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-links-"));
  const root = join(dir, "root");
  const probe = join(dir, "host-side-probe");
  cpSync(busybox, root, { recursive: true, verbatimSymlinks: true });
  for (const name of ["proc", "tmp"]) rmSync(join(root, name), { recursive: true, force: true });
  symlinkSync("/proc", join(root, "proc")); // what debootstrap's first stage leaves
  symlinkSync(probe, join(root, "tmp")); // a host path that must not be made
  const hash = treeHash(root);
  try {
    const r = await tsminc(["-r", root, "sh", "-c", "test -d /proc/self && touch /tmp/x && echo inside"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "inside\n");
    assert.ok(!existsSync(probe), "nothing was made outside the rootfs");
    assert.equal(treeHash(root), hash);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
