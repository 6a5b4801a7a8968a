// The root disk for real: --qemu --root-disk packs the rootfs into an EROFS disk once per state of the tree, the
// guest overlays it with an ext4 disk of the run's tmpdir, writes (deletions, renames and special
// files too) land in that disk, the rootfs stays byte-identical, -k/-t carry writes over, a changed rootfs gets a new
// disk and gc removes the stale one, and a snapshot saved with one disk resumes with another's; the
// upper disk, mounted before the snapshot point, is saved with the snapshot and copied for each run.
// Each test has a cache folder of its own (TSMINC_CACHE), so it can count the disks.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { leftoversAfter, leftSince, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { treeHash } from "../helpers/tree-hash.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";

const made: string[] = [];
let busybox = "";

before(async () => {
  await breedAll();
  busybox = busyboxRootfs("x86_64");
});

after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A copy of the busybox rootfs the test may change, and a cache folder of its own. */
function setup(): { root: string; cache: string; env: Record<string, string> } {
  const root = join(temp("tsminc-rootdisk-root-"), "root");
  execFileSync("cp", ["-a", busybox, root]);
  const cache = temp("tsminc-rootdisk-cache-");
  return { root, cache, env: { TSMINC_CACHE: cache } };
}

/** tsminc --qemu --root-disk with ARGS, and the env that points it at the test's cache. */
const onDisk = (args: readonly string[], env: Record<string, string>) =>
  tsminc(["--qemu", "--root-disk", ...args], undefined, undefined, env);

const disks = (cache: string) => {
  try {
    return readdirSync(join(cache, "root-disks"))
      .filter((f) => f.endsWith(".erofs"))
      .sort();
  } catch {
    return [];
  }
};

test("the root is an overlay of a disk packed once per state of the rootfs; a changed rootfs gets a new disk, gc removes the old", async () => {
  const { root, cache, env } = setup();
  const before = snapshot();
  const look = ["sh", "-c", "grep ' / ' /proc/mounts; cat /etc/marker 2>/dev/null || echo none"];
  const first = await onDisk(["-r", root, ...look], env);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout.toString(), /^overlay \/ overlay \S*lowerdir=\/run\/ermine\/lower,/m);
  assert.match(first.stdout.toString(), /^none$/m);
  const [disk] = disks(cache);
  assert.ok(disk !== undefined);
  // The same tree: the same disk, not packed again.
  const again = await onDisk(["-r", root, ...look], env);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(disks(cache), [disk]);
  // A file added to the rootfs: a new disk, which shows it.
  writeFileSync(join(root, "etc/marker"), "v2\n");
  const changed = await onDisk(["-r", root, ...look], env);
  assert.equal(changed.status, 0, changed.stderr);
  assert.match(changed.stdout.toString(), /^v2$/m);
  const now = disks(cache);
  assert.equal(now.length, 2, now.join(" "));
  const gc = await tsminc(["gc"], undefined, undefined, env);
  assert.equal(gc.status, 0, gc.stderr);
  assert.deepEqual(
    disks(cache),
    now.filter((d) => d !== disk),
  );
  assert.deepEqual(await leftoversAfter(before), []);
});

test("writes through the root (deletions, renames, a fifo) and through a bind land in the tmpdir; the rootfs stays byte-identical; -t carries them on", async () => {
  const { root, env } = setup();
  const bind = temp("tsminc-rootdisk-bind-");
  const hash = treeHash(root);
  const before = snapshot();
  const script = [
    "rm /etc/passwd",
    "echo new >/etc/new",
    "mkdir /d && rmdir /d",
    "mv /etc/group /etc/group2",
    "rm -rf /usr/bin",
    "mkfifo /fifo",
    "echo more >>/etc/hostname",
    "echo out >/b/out",
    "ls /usr; ls -p /etc | tr '\\n' ' '; [ -p /fifo ] && echo fifo",
  ].join(" && ");
  const first = await onDisk(["-k", "-b", `${bind}:/b`, "-r", root, "sh", "-c", script], env);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout.toString(), "sbin\ngroup2 hostname hosts new resolv.conf fifo\n");
  assert.equal(readFileSync(join(bind, "out"), "utf8"), "out\n");
  assert.equal(treeHash(root), hash, "the rootfs was changed");
  const kept = /kept (\S+);/.exec(first.stderr)?.[1];
  assert.ok(kept !== undefined, first.stderr);
  made.push(kept);
  // The writes are in the kept tmpdir's upper disk (read here with e2fsprogs' debugfs).
  const upper = join(kept, "upper.ext4");
  const cat = execFileSync("debugfs", ["-R", "cat /storage/etc/new", upper], { stdio: ["ignore", "pipe", "ignore"] });
  assert.equal(cat.toString(), "new\n");
  // The kept writes, deletions included, are the next run's root.
  const next = await onDisk(
    ["-r", root, "-t", kept, "sh", "-c", "cat /etc/new; ls /etc/passwd /usr/bin 2>&1 | wc -l; tail -1 /etc/hostname"],
    env,
  );
  assert.equal(next.status, 0, next.stderr);
  assert.equal(next.stdout.toString(), "new\n2\nmore\n");
  // The command -k printed names the disks; a kept upper disk is used even without --root-disk.
  assert.ok(first.stderr.includes(`reuse it with: tsminc --qemu -r ${root} --root-disk -t ${kept} ...`), first.stderr);
  const plain = await tsminc(["--qemu", "-r", root, "-t", kept, "cat", "/etc/new"], undefined, undefined, env);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout.toString(), "new\n");
  assert.equal(treeHash(root), hash);
  rmSync(kept, { recursive: true, force: true });
  assert.deepEqual(await leftoversAfter(before), []);
});

test("without --root-disk the root goes over 9p, as before, and nothing is packed", async () => {
  const { root, cache, env } = setup();
  const r = await tsminc(["--qemu", "-r", root, "grep", " / ", "/proc/mounts"], undefined, undefined, env);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /^\S+ \/ 9p /m);
  assert.deepEqual(disks(cache), []);
});

test("a snapshot saved with one root's disk resumes with another's, and reads only that one", async () => {
  const a = setup();
  const b = setup();
  writeFileSync(join(b.root, "etc/marker"), "from b\n");
  const env = a.env;
  const saved = await onDisk(["-r", a.root, "cat", "/etc/hostname"], env);
  assert.equal(saved.status, 0, saved.stderr);
  const dry = await onDisk(["--dry-run", "-r", b.root, "true"], env);
  assert.match(dry.stdout.toString(), /^start +resume /m);
  const resumed = await onDisk(["-r", b.root, "cat", "/etc/marker"], env);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(resumed.stdout.toString(), "from b\n");
  assert.equal(disks(a.cache).length, 2);
});

/** The snapshot folder's saved upper disks, each with its stamp (inode, size, mtime and ctime). */
const savedUppers = (cache: string) => {
  const dir = join(cache, "snapshots");
  return (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => f.endsWith(".upper"))
    .map((f) => {
      const st = statSync(join(dir, f), { bigint: true });
      return { path: join(dir, f), stamp: `${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}` };
    });
};

test("the upper disk is mounted before the snapshot point: saved with it, copied for each resumed run, never written", async () => {
  const { root, cache, env } = setup();
  const hash = treeHash(root);
  const first = await onDisk(["-r", root, "sh", "-c", "echo one >/one; cat /one"], env);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout.toString(), "one\n");
  const [saved, ...more] = savedUppers(cache);
  assert.ok(saved !== undefined && more.length === 0, JSON.stringify(savedUppers(cache)));
  // As saved: what the guest had written back by then (the overlay's folders may still be in its
  // memory, which the snapshot holds), nothing of the saving run's writes.
  const ls = (disk: string, dir: string) =>
    execFileSync("debugfs", ["-R", `ls -p ${dir}`, disk], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .split("\n")
      .flatMap((l) => {
        const name = l.split("/")[5];
        return name === undefined || name === "" || name === "." || name === ".." ? [] : [name];
      })
      .sort();
  const asSaved = ls(saved.path, "/");
  assert.ok(
    asSaved.includes("lost+found") && asSaved.every((n) => ["lost+found", "storage", "work"].includes(n)),
    asSaved.join(" "),
  );
  for (let i = 0; i < 2; i++) {
    assert.match((await onDisk(["--dry-run", "-r", root, "true"], env)).stdout.toString(), /^start +resume /m);
    const r = await onDisk(
      ["-k", "-r", root, "sh", "-c", "cat /one 2>&1; echo two >/two; rm /etc/hostname; cat /two; ls /etc"],
      env,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout.toString(),
      "cat: can't open '/one': No such file or directory\ntwo\ngroup\nhosts\npasswd\nresolv.conf\n",
    );
    const kept = /kept (\S+);/.exec(r.stderr)?.[1];
    assert.ok(kept !== undefined, r.stderr);
    made.push(kept);
    // The run's writes are in its own copy (the kept tmpdir's), the saved disk is as it was.
    assert.deepEqual(ls(join(kept, "upper.ext4"), "/storage"), ["etc", "two"]);
    assert.deepEqual(savedUppers(cache), [saved]);
    assert.deepEqual(ls(saved.path, "/"), asSaved);
  }
  assert.equal(treeHash(root), hash);
});

test("an image's root is a disk by default, found by its folder with no walk; --no-root-disk goes over 9p; gc follows rmi", async () => {
  const { root, cache, env } = setup();
  const tarball = join(temp("tsminc-rootdisk-image-"), "busybox.tar");
  execFileSync("tar", ["-C", root, "-cf", tarball, "."]);
  // A find ahead of the real one in PATH notes each walk of a tree.
  const shim = temp("tsminc-rootdisk-shim-");
  const walks = join(shim, "walks");
  writeFileSync(join(shim, "find"), `#!/bin/sh\necho walk >>${walks}\nexec /usr/bin/find "$@"\n`, { mode: 0o755 });
  const withShim = { ...env, PATH: `${shim}:${process.env.PATH ?? ""}` };
  const walked = () => (existsSync(walks) ? readFileSync(walks, "utf8").split("\n").length - 1 : 0);
  const look = ["sh", "-c", "grep ' / ' /proc/mounts; echo new >/new; cat /new"];
  const vm = (args: readonly string[]) => tsminc(["--qemu", ...args], undefined, undefined, withShim);
  for (let i = 0; i < 2; i++) {
    const r = await vm(["-i", tarball, ...look]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /^overlay \/ overlay \S*lowerdir=\/run\/ermine\/lower,.*\nnew\n$/);
    assert.equal(disks(cache).length, 1, "packed once");
  }
  assert.equal(walked(), 0, "an image's root is not walked");
  const [storeRoot, ...others] = readdirSync(join(cache, "images", "roots"));
  assert.ok(storeRoot !== undefined && others.length === 0);
  const hash = treeHash(join(cache, "images", "roots", storeRoot));
  const over9p = await vm(["--no-root-disk", "-i", tarball, ...look]);
  assert.equal(over9p.status, 0, over9p.stderr);
  assert.match(over9p.stdout.toString(), /^\S+ \/ 9p .*\nnew\n$/);
  assert.match(
    (await vm(["--dry-run", "--no-root-disk", "-i", tarball, "true"])).stdout.toString(),
    /^root +over 9p \(--no-root-disk\)$/m,
  );
  // -k of an image run prints a command that names the image; it runs on the kept writes.
  const keep = await vm(["-k", "-i", tarball, "sh", "-c", "echo kept >/kept"]);
  assert.equal(keep.status, 0, keep.stderr);
  const kept = /kept (\S+);/.exec(keep.stderr)?.[1];
  assert.ok(kept !== undefined, keep.stderr);
  made.push(kept);
  assert.ok(keep.stderr.includes(`reuse it with: tsminc --qemu -i ${tarball} -t ${kept} ...`), keep.stderr);
  const again = await vm(["-i", tarball, "-t", kept, "cat", "/kept"]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.toString(), "kept\n");
  assert.equal(treeHash(join(cache, "images", "roots", storeRoot)), hash, "the image's root was written");
  // A folder's disk is still found by a walk.
  assert.equal((await vm(["--root-disk", "-r", root, "true"])).status, 0);
  assert.ok(walked() > 0);
  assert.equal(disks(cache).length, 2);
  // gc keeps the image's disk while the image is there, and removes it once rmi forgot the image.
  const gc = () => tsminc(["gc"], undefined, undefined, env);
  assert.doesNotMatch((await gc()).stdout.toString(), /root disk/);
  assert.equal(disks(cache).length, 2);
  const rmi = await tsminc(["rmi", tarball], undefined, undefined, env);
  assert.equal(rmi.status, 0, rmi.stderr);
  assert.match((await gc()).stdout.toString(), /removed root disk \S+ \(its rootfs \S+ has changed or is gone\)/);
  assert.equal(disks(cache).length, 1);
});

test("a snapshot's upper disk gone between its check and its copy: the run boots cold, one notice", async () => {
  const { root, cache, env } = setup();
  assert.equal((await onDisk(["-r", root, "true"], env)).status, 0);
  const [saved] = savedUppers(cache);
  assert.ok(saved !== undefined);
  // A cp ahead of the real one in PATH removes the saved disk first, as a concurrent gc would.
  const shim = temp("tsminc-rootdisk-shim-");
  writeFileSync(
    join(shim, "cp"),
    `#!/bin/sh\nfor a; do case "$a" in *.upper) rm -f -- "$a";; esac; done\nexec /bin/cp "$@"\n`,
    { mode: 0o755 },
  );
  const r = await onDisk(["-r", root, "sh", "-c", "echo x >/x; cat /x"], {
    ...env,
    PATH: `${shim}:${process.env.PATH ?? ""}`,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "x\n");
  assert.equal(r.stderr, "tsminc: notice: the saved ermine's upper disk is gone; booting it anew\n");
  assert.equal(existsSync(saved.path), false);
  // The next run finds the snapshot damaged, says so, and saves a whole one.
  const next = await onDisk(["-r", root, "true"], env);
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stderr, /damaged/);
  assert.equal(savedUppers(cache).length, 1);
  assert.match((await onDisk(["--dry-run", "-r", root, "true"], env)).stdout.toString(), /^start +resume /m);
});

test("the empty upper image is made once per mkfs.ext4 and options; an idle one of others is removed", async () => {
  const { root, cache, env } = setup();
  const dir = join(cache, "root-disks");
  mkdirSync(dir, { recursive: true });
  const old = join(dir, "empty-0123456789abcdef.ext4");
  writeFileSync(old, "");
  utimesSync(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  const r = await onDisk(["--no-snapshot", "-r", root, "true"], env);
  assert.equal(r.status, 0, r.stderr);
  const templates = readdirSync(dir).filter((f) => f.startsWith("empty-"));
  assert.equal(templates.length, 1, templates.join(" "));
  assert.notEqual(templates[0], "empty-0123456789abcdef.ext4");
  // Sparse, and without resize_inode's reserved blocks: well under 1 MiB written of 64 GiB.
  const st = statSync(join(dir, templates[0] ?? ""));
  assert.equal(st.size, 64 * 2 ** 30);
  assert.ok(st.blocks * 512 < 2 ** 20, `${st.blocks * 512} bytes written`);
});

test("--root-disk -k, tsminc SIGKILLed after a write: the janitor keeps upper.ext4, which holds the write", async () => {
  const { root, env } = setup();
  const before = snapshot();
  const run = startTsminc(
    ["--qemu", "--root-disk", "-k", "-r", root, "sh", "-c", "echo kept >/kept; echo started; sleep 60"],
    env,
  );
  await run.outputIncludes("started");
  run.kill("SIGKILL");
  await run.done;
  // The janitor trims the tmpdir to what is kept, the owner file last.
  const kept = () =>
    leftSince(before)
      .filter((l) => l.startsWith("tmpdir "))
      .map((l) => l.slice(7));
  const until = Date.now() + 10_000;
  while (kept().some((d) => existsSync(join(d, "owner"))) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  const [dir, ...more] = kept();
  assert.ok(dir !== undefined && more.length === 0, kept().join("; "));
  made.push(dir);
  assert.deepEqual(readdirSync(dir).sort(), ["lower", "root", "storage", "upper.ext4", "work"]);
  const cat = execFileSync("debugfs", ["-R", "cat /storage/kept", join(dir, "upper.ext4")], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  assert.equal(cat.toString(), "kept\n");
});
