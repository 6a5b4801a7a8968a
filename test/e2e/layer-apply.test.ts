// Image layers unpacked for real: content, owners, modes and times; whiteouts; compression; hostile layers refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { gzipSync } from "node:zlib";
import { MincError } from "../../src/core/errors.js";
import { applyLayer, type LayerStats } from "../../src/host/layer-apply.js";
import { HOSTILE_KINDS, hostileLayer } from "../helpers/hostile-layers.js";
import { skipBecause } from "../helpers/skip.js";
import { tarBytes, type TarEntry } from "../helpers/tar-writer.js";
import { treeHash } from "../helpers/tree-hash.js";

const isRoot = process.getuid?.() === 0;
const T1 = 1_600_000_000;
const T2 = 1_650_000_000;

interface Place {
  readonly base: string;
  readonly root: string;
  /** a sentinel folder outside `root`, holding a file `passwd` */
  readonly outside: string;
  /** writes a layer blob (compressed as asked) and applies it onto `root` */
  apply(entries: TarEntry[] | Buffer, opts?: { privileged?: boolean; compress?: Compress }): Promise<LayerStats>;
}

type Compress = "gzip" | "zstd" | "xz";

function compress(tar: Buffer, how: Compress | undefined): Buffer {
  if (how === undefined) return tar;
  if (how === "gzip") return gzipSync(tar);
  const r = spawnSync(how, ["-c", "-q"], { input: tar, maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `${how} failed: ${String(r.stderr)}`);
  return r.stdout;
}

function place(t: TestContext): Place {
  const base = mkdtempSync("/tmp/tsminc-layer-");
  t.after(() => {
    rmSync(base, { recursive: true, force: true });
  });
  const root = join(base, "root");
  const outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "passwd"), "root:x:0:0::/root:/bin/sh\n");
  let n = 0;
  return {
    base,
    root,
    outside,
    apply: (entries, opts = {}) => {
      const blob = join(base, `layer-${n++}`);
      writeFileSync(blob, compress(Buffer.isBuffer(entries) ? entries : tarBytes(entries), opts.compress));
      return applyLayer(blob, root, { privileged: opts.privileged ?? true, name: "sha256:0123456789ab" });
    },
  };
}

async function refused(p: Promise<unknown>, message: RegExp, code = "layer"): Promise<MincError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof MincError, `not a MincError: ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  assert.ok(caught.hint !== undefined && caught.hint !== "", "it has a hint");
  return caught;
}

/** Every path under `dir`, relative, sorted ("/" after folders). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const p = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(join(dir, p));
      out.push(st.isDirectory() ? `${p}/` : p);
      if (st.isDirectory()) walk(p);
    }
  };
  walk("");
  return out;
}

const read = (p: string): string => readFileSync(p, "utf8");

test("files, folders, symlinks and hard links come with their modes, owners and times", async (t) => {
  const at = place(t);
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const longName = `deep/${"n".repeat(120)}/file-with-a-long-name`;
  const stats = await at.apply([
    { path: "./", type: "dir", mode: 0o755 },
    { path: "etc/", type: "dir", mode: 0o755, mtime: T1 },
    { path: "etc/conf", body: "a=1\n", mode: 0o640, uid: 1000, gid: 1001, mtime: T1 },
    { path: "bin/", type: "dir", mode: 0o755, mtime: T2 },
    { path: "bin/su", body: "#!su\n", mode: 0o4755, uid: 0, gid: 0, mtime: T1 },
    { path: "bin/newgrp", body: "#!ng\n", mode: 0o6750, uid: 1000, gid: 50, mtime: T1 },
    { path: "bin/sh", type: "symlink", link: "busybox", uid: 5, gid: 6, mtime: T2 },
    { path: "bin/su2", type: "hardlink", link: "./bin/su" },
    { path: "home/u/", type: "dir", mode: 0o700, uid: 1000, gid: 1000, mtime: T2 },
    { path: "home/u/.profile", body: "PS1=$\n", uid: 1000, gid: 1000, mtime: T1 },
    { path: "tmp/", type: "dir", mode: 0o1777 },
    { path: "usr/lib/x/implicit", body: "parents made on the way\n" },
    { path: "big.bin", body: big, mode: 0o600 },
    { path: longName, body: "long\n" },
    { path: "with-xattr", body: "x\n", xattrs: { "user.note": "hello" } },
  ]);
  assert.deepEqual(stats, { entries: 15, skippedDevices: 0, bytes: 4 + 5 + 5 + 6 + 24 + big.length + 5 + 2 });

  const conf = lstatSync(join(at.root, "etc/conf"));
  assert.equal(read(join(at.root, "etc/conf")), "a=1\n");
  assert.equal(conf.mode & 0o7777, 0o640);
  assert.deepEqual([conf.uid, conf.gid, conf.mtimeMs], [1000, 1001, T1 * 1000]);

  assert.equal(lstatSync(join(at.root, "bin/su")).mode & 0o7777, 0o4755, "setuid survives");
  const newgrp = lstatSync(join(at.root, "bin/newgrp"));
  assert.deepEqual([newgrp.mode & 0o7777, newgrp.uid, newgrp.gid], [0o6750, 1000, 50], "setuid+setgid survive chown");

  const sh = lstatSync(join(at.root, "bin/sh"));
  assert.ok(sh.isSymbolicLink());
  assert.equal(readlinkSync(join(at.root, "bin/sh")), "busybox");
  assert.deepEqual([sh.uid, sh.gid, sh.mtimeMs], [5, 6, T2 * 1000]);

  assert.equal(statSync(join(at.root, "bin/su2")).ino, statSync(join(at.root, "bin/su")).ino, "a hard link");

  const home = lstatSync(join(at.root, "home/u"));
  assert.deepEqual([home.mode & 0o7777, home.uid, home.gid], [0o700, 1000, 1000]);
  assert.equal(home.mtimeMs, T2 * 1000, "a folder's mtime is set after its content is written");
  assert.equal(lstatSync(join(at.root, "bin")).mtimeMs, T2 * 1000);
  assert.equal(lstatSync(join(at.root, "tmp")).mode & 0o7777, 0o1777);

  const implicit = lstatSync(join(at.root, "usr/lib/x"));
  assert.deepEqual([implicit.isDirectory(), implicit.mode & 0o7777, implicit.uid], [true, 0o755, 0]);
  assert.ok(readFileSync(join(at.root, "big.bin")).equals(big), "3 MB come through intact");
  assert.equal(read(join(at.root, longName)), "long\n", "a pax long name");
  assert.equal(read(join(at.root, "with-xattr")), "x\n");
});

test("unprivileged: owners are not taken from the layer, modes are", async (t) => {
  const at = place(t);
  await at.apply([{ path: "f", body: "x", mode: 0o4711, uid: 1000, gid: 1000 }], { privileged: false });
  const st = lstatSync(join(at.root, "f"));
  assert.deepEqual([st.uid, st.mode & 0o7777], [process.getuid?.() ?? 0, 0o4711]);
});

/** The user the rootless test's child runs as, when we are root. */
const USER = 1000;

/** Applies `layers` in turn onto `at.root` in a child node process run as uid and gid 1000 (when we are root). */
function applyAsUser(at: Place, layers: TarEntry[][]): { uid: unknown; stats: unknown } {
  const blobs = layers.map((entries, i) => {
    const blob = join(at.base, `user-layer-${i}`);
    writeFileSync(blob, tarBytes(entries));
    return blob;
  });
  if (isRoot) {
    chownSync(at.base, USER, USER);
    chownSync(at.root, USER, USER);
  }
  const code = `
    const { applyLayer } = await import(process.env.T_MODULE);
    const stats = [];
    for (const blob of JSON.parse(process.env.T_BLOBS)) {
      stats.push(await applyLayer(blob, process.env.T_ROOT, { privileged: false, name: "sha256:0123456789ab" }));
    }
    process.stdout.write(JSON.stringify({ uid: process.getuid(), stats }));
  `;
  const node = [process.execPath, "--input-type=module", "-e", code];
  const setpriv = ["--reuid", String(USER), "--regid", String(USER), "--clear-groups", ...node];
  const r = spawnSync(isRoot ? "setpriv" : process.execPath, isRoot ? setpriv : node.slice(1), {
    encoding: "utf8",
    env: {
      ...process.env,
      T_MODULE: new URL("../../src/host/layer-apply.js", import.meta.url).href,
      T_BLOBS: JSON.stringify(blobs),
      T_ROOT: at.root,
    },
  });
  assert.equal(r.error, undefined, `cannot run the child: ${String(r.error)}`);
  assert.equal(r.status, 0, `the child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { uid: unknown; stats: unknown };
}

test("rootless: folders a lower layer left read-only are written into, and their modes put back", (t) => {
  if (isRoot && spawnSync("setpriv", ["--version"]).error !== undefined) {
    skipBecause(t, "running the child as another user takes setpriv (util-linux)");
    return;
  }
  const at = place(t);
  const applied = applyAsUser(at, [
    [
      { path: "./", type: "dir", mode: 0o555 },
      { path: "ro/", type: "dir", mode: 0o555 },
      { path: "ro/old", body: "lower\n" },
      { path: "priv/", type: "dir", mode: 0o500 },
      { path: "priv/sub/", type: "dir", mode: 0o555 },
      { path: "priv/sub/x", body: "lower\n" },
      { path: "gone/", type: "dir", mode: 0o555 },
      { path: "gone/deep/", type: "dir", mode: 0o500 },
      { path: "gone/deep/f", body: "lower\n" },
    ],
    [
      { path: "ro/file", body: "upper\n" },
      { path: "ro/.wh.old" },
      { path: "priv/sub/y", body: "upper\n" },
      { path: ".wh.gone" },
      { path: "top", body: "upper\n" },
    ],
  ]);
  assert.notEqual(applied.uid, 0, "the layers were applied by a user other than root");
  assert.deepEqual(tree(at.root), ["priv/", "priv/sub/", "priv/sub/x", "priv/sub/y", "ro/", "ro/file", "top"]);
  assert.equal(read(join(at.root, "ro/file")), "upper\n");
  const modes = ["", "ro", "priv", "priv/sub"].map((p) => lstatSync(join(at.root, p)).mode & 0o7777);
  assert.deepEqual(modes, [0o555, 0o555, 0o500, 0o555], "each folder has its layer's mode again");
  if (isRoot) assert.equal(lstatSync(join(at.root, "ro/file")).uid, USER);
});

test("whiteouts delete a lower file and a lower folder, and no .wh. file is made", async (t) => {
  const at = place(t);
  await at.apply([
    { path: "a/file", body: "lower\n" },
    { path: "a/keep", body: "lower\n" },
    { path: "d/sub/x", body: "lower\n" },
    { path: "d/y", body: "lower\n" },
    { path: "lnk", type: "symlink", link: at.outside },
  ]);
  const stats = await at.apply([
    { path: "a/.wh.file" },
    { path: ".wh.d" },
    { path: ".wh.lnk" },
    { path: ".wh.never-there" },
    { path: "gone/.wh.never-there" },
  ]);
  assert.equal(stats.entries, 5);
  assert.deepEqual(tree(at.root), ["a/", "a/keep"]);
  assert.ok(existsSync(join(at.outside, "passwd")), "a whited-out symlink is deleted, not followed");
});

test("an opaque folder loses its lower content, the marker before or after this layer's own", async (t) => {
  const at = place(t);
  await at.apply([
    { path: "o1/old", body: "lower\n" },
    { path: "o1/sub/old2", body: "lower\n" },
    { path: "o2/old", body: "lower\n" },
    { path: "o2/sub/old3", body: "lower\n" },
    { path: "o2/sub/deeper/old4", body: "lower\n" },
    { path: "other/kept", body: "lower\n" },
  ]);
  await at.apply([
    { path: "o1/", type: "dir" },
    { path: "o1/.wh..wh..opq" },
    { path: "o1/new", body: "upper\n" },
    { path: "o1/sub/", type: "dir" },
    { path: "o1/sub/new2", body: "upper\n" },
    { path: "o2/", type: "dir" },
    { path: "o2/new", body: "upper\n" },
    { path: "o2/sub/new3", body: "upper\n" },
    { path: "o2/.wh..wh..opq" },
    { path: "o2/.wh..wh.plnk/123.456", body: "aufs\n" },
  ]);
  assert.deepEqual(tree(at.root), [
    "o1/",
    "o1/new",
    "o1/sub/",
    "o1/sub/new2",
    "o2/",
    "o2/new",
    "o2/sub/",
    "o2/sub/new3",
    "other/",
    "other/kept",
  ]);
});

test("an opaque marker at the root spares only this layer's entries", async (t) => {
  const at = place(t);
  await at.apply([
    { path: "old/x", body: "lower\n" },
    { path: "f", body: "lower\n" },
    { path: "keep/y", body: "lower\n" },
  ]);
  await at.apply([{ path: "keep/", type: "dir" }, { path: "new", body: "upper\n" }, { path: "./.wh..wh..opq" }]);
  assert.deepEqual(tree(at.root), ["keep/", "new"]);
});

test("a file replaces a folder, a folder replaces a file, a symlink replaces both", async (t) => {
  const at = place(t);
  await at.apply([
    { path: "x", body: "file\n" },
    { path: "y/inner", body: "lower\n" },
    { path: "z", body: "file\n" },
    { path: "w/inner", body: "lower\n" },
  ]);
  await at.apply([
    { path: "x/", type: "dir", mode: 0o750 },
    { path: "x/f", body: "in x\n" },
    { path: "y", body: "now a file\n" },
    { path: "z", type: "symlink", link: "x" },
    { path: "w", type: "symlink", link: "x" },
  ]);
  assert.deepEqual(tree(at.root), ["w", "x/", "x/f", "y", "z"]);
  assert.equal(lstatSync(join(at.root, "x")).mode & 0o7777, 0o750);
  assert.equal(read(join(at.root, "y")), "now a file\n");
  assert.equal(readlinkSync(join(at.root, "w")), "x");
});

test("a whiteout of what the same layer wrote is not applied", async (t) => {
  const at = place(t);
  await at.apply([{ path: "s", body: "lower\n" }]);
  await at.apply([
    { path: "s", body: "upper\n" },
    { path: ".wh.s" },
    { path: "dir/", type: "dir" },
    { path: ".wh.dir" },
    { path: "t", body: "t\n" },
    { path: "t/.wh.nothing" },
  ]);
  assert.deepEqual(tree(at.root), ["dir/", "s", "t"]);
  assert.equal(read(join(at.root, "s")), "upper\n");
});

test("a whiteout of a lower folder spares what this layer wrote into it", async (t) => {
  const at = place(t);
  await at.apply([
    { path: "p/old", body: "lower\n" },
    { path: "p/q/old", body: "lower\n" },
  ]);
  await at.apply([{ path: "p/q/new", body: "upper\n" }, { path: ".wh.p" }]);
  assert.deepEqual(tree(at.root), ["p/", "p/q/", "p/q/new"]);
});

for (const kind of HOSTILE_KINDS) {
  test(`hostile layer refused: ${kind}, and nothing written outside the target`, async (t) => {
    const at = place(t);
    const before = treeHash(at.outside);
    const passwdLinks = statSync("/etc/passwd").nlink;
    const err = await refused(at.apply(hostileLayer(kind, at.outside)), /^layer sha256:0123456789ab: /);
    if (kind.includes("symlink")) assert.match(err.message, /goes through a symlink \(lnk\)/);
    if (kind === "dotdot" || kind === "hardlink-escape") assert.match(err.message, /"\.\." component/);
    if (kind === "absolute") assert.match(err.message, /is absolute/);
    assert.equal(treeHash(at.outside), before, "the sentinel folder is unchanged");
    assert.equal(statSync("/etc/passwd").nlink, passwdLinks, "no hard link to /etc/passwd was made");
    for (const p of ["/escaped", "/etc/escaped", "/tmp/escaped", join(at.base, "escaped"), join(at.root, "escaped")]) {
      assert.ok(!existsSync(p), `${p} does not exist`);
    }
    assert.ok(!tree(at.base).some((p) => p.endsWith("escaped")), "no escaped file anywhere under the test folder");
  });
}

test("hostile: a whiteout or an opaque marker through a symlink deletes nothing outside", async (t) => {
  const at = place(t);
  await at.apply([{ path: "lnk", type: "symlink", link: at.outside }]);
  const before = treeHash(at.outside);
  await refused(at.apply([{ path: "lnk/.wh.passwd" }]), /whiteout "lnk\/\.wh\.passwd" goes through a symlink/);
  await refused(at.apply([{ path: "lnk/.wh..wh..opq" }]), /opaque marker "lnk\/\.wh\.\.wh\.\.opq" is in a symlink/);
  assert.equal(treeHash(at.outside), before);
});

test("a hard link to a symlink links the symlink; a file over a symlink replaces it", async (t) => {
  const at = place(t);
  const passwd = join(at.outside, "passwd");
  await at.apply([{ path: "lnk", type: "symlink", link: passwd }]);
  const before = treeHash(at.outside);
  await at.apply([
    { path: "h", type: "hardlink", link: "lnk" },
    { path: "lnk2", type: "symlink", link: passwd },
    { path: "lnk2", body: "mine\n" },
  ]);
  assert.equal(treeHash(at.outside), before);
  assert.equal(statSync(passwd).nlink, 1);
  assert.ok(lstatSync(join(at.root, "h")).isSymbolicLink());
  assert.equal(lstatSync(join(at.root, "h")).ino, lstatSync(join(at.root, "lnk")).ino);
  assert.equal(read(join(at.root, "lnk2")), "mine\n");
});

test("a symlink in place of a folder is replaced by the folder, not followed", async (t) => {
  const at = place(t);
  await at.apply([{ path: "lnk", type: "symlink", link: at.outside }]);
  const before = treeHash(at.outside);
  await at.apply([
    { path: "lnk/", type: "dir", mode: 0o700 },
    { path: "lnk/passwd", body: "mine\n" },
  ]);
  assert.equal(treeHash(at.outside), before);
  assert.ok(lstatSync(join(at.root, "lnk")).isDirectory());
  assert.equal(read(join(at.root, "lnk/passwd")), "mine\n");
});

test("malformed names and types are refused", async (t) => {
  const at = place(t);
  await refused(at.apply([{ path: "a/.wh." }]), /whiteout "a\/\.wh\." names no file/);
  await refused(at.apply([{ path: ".wh.x/y" }]), /whiteout name as a folder/);
  await refused(at.apply([{ path: "./", type: "symlink", link: "/" }]), /the root entry is a SymbolicLink/);
  await refused(at.apply([{ path: "sparse", typeflag: "S", body: "x" }]), /type not unpacked/);
  await refused(at.apply([{ path: "dumpdir", typeflag: "D" }]), /type not unpacked \(GNUDumpDir\)/);
  await refused(at.apply([{ path: "h", type: "hardlink", link: "missing" }]), /"missing": the target does not exist/);
  await refused(at.apply([{ path: "h", type: "hardlink", link: "/etc/passwd" }]), /is absolute/);
  await refused(
    at.apply([
      { path: "d/", type: "dir" },
      { path: "h", type: "hardlink", link: "d" },
    ]),
    /is a folder/,
  );
  await refused(
    at.apply([
      { path: "f", body: "x" },
      { path: "f/g", body: "y" },
    ]),
    /goes through a non-folder \(f\)/,
  );
});

test("devices are made when privileged, skipped and counted when not; FIFOs either way", async (t) => {
  if (!isRoot) {
    skipBecause(t, "making devices takes root");
    return;
  }
  const layer: TarEntry[] = [
    { path: "dev/", type: "dir" },
    { path: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0 },
    { path: "dev/loop0", type: "block", devmajor: 7, devminor: 0, mode: 0o660, uid: 0, gid: 6, mtime: T1 },
    { path: "dev/fifo", type: "fifo", mode: 0o620, uid: 0, gid: 5, mtime: T1 },
  ];
  const priv = place(t);
  const stats = await priv.apply(layer, { privileged: true });
  assert.equal(stats.skippedDevices, 0);
  const nul = lstatSync(join(priv.root, "dev/null"));
  assert.ok(nul.isCharacterDevice());
  assert.deepEqual([nul.rdev, nul.mode & 0o7777], [(1 << 8) | 3, 0o666]);
  const loop = lstatSync(join(priv.root, "dev/loop0"));
  assert.ok(loop.isBlockDevice());
  assert.deepEqual([loop.rdev, loop.gid, loop.mode & 0o7777, loop.mtimeMs], [7 << 8, 6, 0o660, T1 * 1000]);
  const fifo = lstatSync(join(priv.root, "dev/fifo"));
  assert.ok(fifo.isFIFO());
  assert.deepEqual([fifo.gid, fifo.mode & 0o7777, fifo.mtimeMs], [5, 0o620, T1 * 1000]);

  const unpriv = place(t);
  const stats2 = await unpriv.apply(layer, { privileged: false });
  assert.deepEqual(stats2, { entries: 4, skippedDevices: 2, bytes: 0 });
  assert.deepEqual(tree(unpriv.root), ["dev/", "dev/fifo"]);
  assert.ok(lstatSync(join(unpriv.root, "dev/fifo")).isFIFO());
});

for (const how of ["gzip", "zstd", "xz"] as const) {
  test(`a ${how} layer is unpacked, and a damaged one refused`, async (t) => {
    const at = place(t);
    const body = randomBytes(200_000).toString("hex");
    const entries: TarEntry[] = [
      { path: "./", type: "dir" },
      { path: "etc/os-release", body: `ID=${how}\n` },
      { path: "data", body },
    ];
    const stats = await at.apply(entries, { compress: how });
    assert.deepEqual(stats, { entries: 3, skippedDevices: 0, bytes: body.length + how.length + 4 });
    assert.equal(read(join(at.root, "etc/os-release")), `ID=${how}\n`);
    assert.equal(read(join(at.root, "data")), body);

    const whole = compress(tarBytes(entries), how);
    const cut = whole.subarray(0, Math.floor(whole.length / 2));
    const damaged = place(t);
    await refused(damaged.apply(cut), /^layer sha256:0123456789ab is damaged: /);
  });
}

test("a truncated tar, a tar cut at a header, and garbage are refused; an empty layer is fine", async (t) => {
  const at = place(t);
  const tar = tarBytes([
    { path: "a", body: "x".repeat(5000) },
    { path: "b", body: "y" },
  ]);
  await refused(at.apply(tar.subarray(0, 512 + 2000)), /is damaged: Truncated input/);
  await refused(at.apply(tar.subarray(0, 300)), /is damaged: it is not a tar archive/);
  const bad = Buffer.from(tar);
  bad[0] = 0x41; // the checksum no longer matches
  await refused(at.apply(bad), /is damaged: checksum failure/);
  await refused(at.apply(randomBytes(4096)), /is damaged: /);
  await refused(at.apply(Buffer.alloc(0)), /is damaged: it is not a tar archive/);

  // docker's empty layer: 1024 zero bytes, gzipped
  const empty = place(t);
  assert.deepEqual(await empty.apply(Buffer.alloc(1024), { compress: "gzip" }), {
    entries: 0,
    skippedDevices: 0,
    bytes: 0,
  });
  assert.deepEqual(tree(empty.root), []);
});

test("a 10,000-entry layer applies whole", async (t) => {
  const at = place(t);
  const entries: TarEntry[] = [{ path: "./", type: "dir" }];
  for (let d = 0; d < 1000; d++) {
    entries.push({ path: `usr/share/d${d}/`, type: "dir", mtime: T1 });
    for (let f = 0; f < 8; f++) entries.push({ path: `usr/share/d${d}/f${f}`, body: `${d}/${f}\n`, mtime: T2 });
    entries.push({ path: `usr/share/d${d}/link`, type: "symlink", link: "f0" });
  }
  const blob = gzipSync(tarBytes(entries));
  const start = performance.now();
  const stats = await at.apply(blob);
  t.diagnostic(`${stats.entries} entries in ${Math.round(performance.now() - start)} ms`);
  assert.equal(stats.entries, 10_001);
  assert.equal(read(join(at.root, "usr/share/d999/f7")), "999/7\n");
  assert.equal(lstatSync(join(at.root, "usr/share/d500")).mtimeMs, T1 * 1000);
  assert.equal(readdirSync(join(at.root, "usr/share")).length, 1000);
});

test("a missing decompressor is named, with the package to install", async (t) => {
  const at = place(t);
  const path = process.env.PATH;
  const blob = join(at.base, "layer.zst");
  writeFileSync(blob, compress(tarBytes([{ path: "x", body: "x" }]), "zstd"));
  process.env.PATH = "/nonexistent";
  try {
    await refused(
      applyLayer(blob, at.root, { privileged: true, name: "sha256:0123456789ab" }),
      /zstd is not installed/,
      "missing-tool",
    );
  } finally {
    process.env.PATH = path;
  }
});
