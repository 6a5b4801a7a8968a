// Images, end to end: a real registry (Debian's docker-registry) holding images pushed by skopeo from
// layouts built here, pulled and run in both modes; archives, layouts and rootfs tarballs offline;
// the image cache never written by a run; bad digests, hostile layers, killed pulls, wrong
// credentials and unknown tags.
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { archOfNode } from "../../src/core/arch.js";
import { breedAll } from "../helpers/cli.js";
import { HOSTILE_KINDS, hostileLayer } from "../helpers/hostile-layers.js";
import { tarBytes } from "../helpers/tar-writer.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import {
  archiveOf,
  CONTENTS,
  imageLayout,
  imageWithLayer,
  indexLayout,
  rootfsTarball,
} from "../helpers/oci-fixtures.js";
import { pushLayout, startProxy, startRegistry, writeAuthFile, type TestRegistry } from "../helpers/registry.js";
import { treeHash } from "../helpers/tree-hash.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";

const hostArch = archOfNode(process.arch) ?? "x86_64";
const MODES = [
  { name: "ns", flags: [] as string[] },
  { name: "vm", flags: ["--qemu"] },
] as const;

let work = "";
let cache = "";
let registry: TestRegistry;
let secure: TestRegistry;
let plainRef = "";
let layout = "";
const USER = { user: "alice", pass: "s3cret" };

/** tsminc with the image store in this test's own cache. */
const run = (args: readonly string[], env: Record<string, string> = {}) =>
  tsminc(args, undefined, undefined, { TSMINC_CACHE: cache, ...env });

const out = (r: { stdout: Buffer }) => r.stdout.toString();
/** The error lines (not the hint under it, nor a pull's progress lines). */
const oneLine = (stderr: string) =>
  stderr.split("\n").filter((l) => l.startsWith("tsminc:") && !/^tsminc: (hint:|pulled )/.test(l));
const storeRoots = () => readdirSync(join(cache, "images", "roots"));

before(async () => {
  await breedAll();
  work = mkdtempSync(join(tmpdir(), "tsminc-images-"));
  cache = join(work, "cache");
  const [img, multi] = await Promise.all([imageLayout(hostArch), indexLayout()]);
  layout = img.dir;
  registry = await startRegistry();
  secure = await startRegistry({ tls: true, users: [USER] });
  await pushLayout(img.dir, img.tag, registry, "tools/img:v1");
  await pushLayout(multi.dir, multi.tag, registry, "tools/multi:latest");
  await pushLayout((await imageLayout(hostArch, { user: "app" })).dir, "user", registry, "tools/img:user");
  await pushLayout(img.dir, img.tag, secure, "private/img:v1", USER);
  plainRef = `docker://${registry.host}/tools/img:v1`;
});

after(async () => {
  await registry.stop();
  await secure.stop();
  rmSync(work, { recursive: true, force: true });
});

// What the fixture image holds (test/helpers/oci-fixtures.ts): its Cmd prints GREETING, the working
// folder and the uid; layer two deletes gone.txt and gone-dir, and makes opq opaque holding only c.
const LOOK = [
  "sh",
  "-c",
  'cat /keep.txt /etc/motd; echo; ls /opq | tr "\\n" " "; for f in /gone.txt /gone-dir; do [ -e $f ] && echo "$f is there"; done; echo; pwd; echo "$GREETING|$HOME"',
];

for (const mode of MODES) {
  test(`${mode.name}: docker:// runs the image's Cmd with its Env and WorkingDir`, async () => {
    const before = snapshot();
    const r = await run([...mode.flags, "-i", plainRef]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(out(r), "cmd:hello world:/work/dir:0\n");
    assert.deepEqual(await leftoversAfter(before), []);
  });

  test(`${mode.name}: the layers' whiteouts and opaque folder hold; -e, -w and --entrypoint override the image`, async () => {
    const r = await run([...mode.flags, "-e", "GREETING=bye now", "-w", "/tmp", "-i", plainRef, ...LOOK]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(out(r), `${CONTENTS.keep}${CONTENTS.motd}\nc \n/tmp\nbye now|/root\n`);
    const e = await run([...mode.flags, "--entrypoint", "/bin/echo", "-i", plainRef, "a  b", "$HOME"]);
    assert.equal(out(e), "a  b $HOME\n", e.stderr);
  });

  test(`${mode.name}: an image's User runs as its uid, with its HOME`, async () => {
    const r = await run([
      ...mode.flags,
      "-i",
      `docker://${registry.host}/tools/img:user`,
      "sh",
      "-c",
      'id -u; echo "$HOME"',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(out(r), "1000\n/home/app\n");
  });
}

test("vm: --arch arm64 on a multi-arch image runs its arm64 variant", async () => {
  const ref = `docker://${registry.host}/tools/multi:latest`;
  const r = await run(["--qemu", "--arch", "arm64", "-i", ref, "uname", "-m"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(out(r), "aarch64\n");
  const images = out(await run(["images"]));
  assert.match(images, new RegExp(`${ref.replace(/[.:/]/g, "\\$&")} +sha256:\\S+ +arm64 `));
});

test("a run never writes the image's root; a second run asks the registry nothing", async () => {
  const proxy = await startProxy(registry, {});
  const ref = `docker://${proxy.host}/tools/img:v1`;
  try {
    const first = await run(["-i", ref, "true"]);
    assert.equal(first.status, 0, first.stderr);
    const asked = proxy.requests.length;
    assert.ok(asked > 0);
    const [root] = storeRoots().filter((r) => existsSync(join(cache, "images", "roots", r, "keep.txt")));
    assert.ok(root !== undefined);
    const path = join(cache, "images", "roots", root);
    const hash = treeHash(path);
    const r = await run(["-i", ref, "sh", "-c", "rm -rf /keep.txt /opq /bin/ls; echo x > /etc/motd; mkdir /new"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(treeHash(path), hash);
    assert.equal(proxy.requests.length, asked);
  } finally {
    await proxy.stop();
  }
});

test("offline: oci:, oci-archive:, docker-archive: and rootfs tarballs (.tar, .gz, .xz, .zst)", async () => {
  const docker = await archiveOf(layout, "v1", "docker-archive", join(work, "d.tar"));
  const oci = await archiveOf(layout, "v1", "oci-archive", join(work, "o.tar"));
  for (const ref of [`oci:${layout}:v1`, `oci-archive:${oci}`, `docker-archive:${docker}`]) {
    const r = await run(["-i", ref]);
    assert.equal(out(r), "cmd:hello world:/work/dir:0\n", `${ref}: ${r.stderr}`);
  }
  for (const c of ["none", "gzip", "xz", "zstd"] as const) {
    const file = await rootfsTarball(hostArch, c);
    const r = await run(["-r", file, "cat", "/etc/motd"]);
    assert.equal(out(r), CONTENTS.tarballMotd, `${c}: ${r.stderr}`);
  }
  const vm = await run(["--qemu", "-i", `docker-archive:${docker}`, "cat", "/etc/motd"]);
  assert.equal(out(vm), CONTENTS.motd, vm.stderr);
});

test("a blob whose bytes do not match its digest is refused, and nothing is unpacked", async () => {
  const img = await imageLayout(hostArch);
  const bad = img.layerDigests[0] ?? "";
  const proxy = await startProxy(registry, { corruptDigest: bad });
  const fresh = join(work, "cache-corrupt");
  try {
    const r = await run(["-i", `docker://${proxy.host}/tools/img:v1`, "true"], { TSMINC_CACHE: fresh });
    assert.equal(r.status, 125);
    assert.equal(oneLine(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(bad.slice(7, 19)));
    assert.deepEqual(readdirSync(join(fresh, "images", "roots")), []);
    assert.deepEqual(readdirSync(join(fresh, "images", "tmp")), []);
    assert.ok(!existsSync(join(fresh, "images", "blobs", "sha256", bad.slice(7))));
  } finally {
    await proxy.stop();
  }
});

test("hostile layers (../, absolute paths, symlink and hard-link escapes) are refused, nothing written outside", async () => {
  const outside = mkdtempSync(join(work, "outside-"));
  writeFileSync(join(outside, "passwd"), "sentinel\n");
  const hash = treeHash(outside);
  for (const kind of HOSTILE_KINDS) {
    const dir = await imageWithLayer(hostileLayer(kind, outside));
    const r = await run(["-i", `oci:${dir}:bad`, "true"]);
    assert.equal(r.status, 125, `${kind}: ${r.stderr}`);
    assert.equal(oneLine(r.stderr).length, 1, r.stderr);
    assert.equal(treeHash(outside), hash, kind);
    assert.ok(!existsSync(join(work, "escaped")) && !existsSync("/escaped"), kind);
    assert.deepEqual(readdirSync(join(cache, "images", "tmp")), [], kind);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a pull killed midway resumes where it stopped, and completes", async () => {
  const img = await imageLayout(hostArch);
  const big = img.layerDigests[0] ?? "";
  const proxy = await startProxy(registry, { stallDigestAfter: { digest: big, bytes: 200_000 } });
  const fresh = join(work, "cache-resume");
  const ref = `docker://${proxy.host}/tools/img:v1`;
  try {
    const first = startTsminc(["pull", ref], { TSMINC_CACHE: fresh });
    const partial = join(fresh, "images", "blobs", "sha256");
    // the stalled download has its first bytes on disk: then the pull is killed
    const until = Date.now() + 60_000;
    const started = () =>
      existsSync(partial) &&
      readdirSync(partial).some((f) => f.includes(big.slice(7)) && readFileSync(join(partial, f)).length >= 200_000);
    while (!started()) {
      assert.ok(Date.now() < until, "the pull never got its first bytes");
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill("SIGKILL");
    await first.done;
    const second = await run(["pull", ref], { TSMINC_CACHE: fresh });
    assert.equal(second.status, 0, second.stderr);
    const ranged = proxy.requests.filter((q) => q.path.endsWith(big) && q.range !== undefined);
    assert.ok(
      ranged.some((q) => q.range?.startsWith("bytes=200000-")),
      JSON.stringify(proxy.requests),
    );
    const r = await run(["-i", ref], { TSMINC_CACHE: fresh });
    assert.equal(out(r), "cmd:hello world:/work/dir:0\n", r.stderr);
  } finally {
    await proxy.stop();
  }
});

test("credentials over TLS: right ones pull; wrong ones → 125 naming the auth file; unknown tag → 125 naming it", async () => {
  const ref = `docker://${secure.host}/private/img:v1`;
  const good = writeAuthFile(join(work, "good"), secure.host, USER.user, USER.pass);
  const wrong = writeAuthFile(join(work, "wrong"), secure.host, USER.user, "nope");
  const ca = secure.caFile ?? "";
  const ok = await run(["--cert-file", ca, "--authfile", good, "-i", ref, "cat", "/keep.txt"]);
  assert.equal(out(ok), CONTENTS.keep, ok.stderr);
  const denied = await run(["--cert-file", ca, "-i", ref.replace(":v1", ":v1"), "true"], {
    REGISTRY_AUTH_FILE: wrong,
    TSMINC_CACHE: join(work, "cache-denied"),
  });
  assert.equal(denied.status, 125);
  assert.equal(oneLine(denied.stderr).length, 1, denied.stderr);
  assert.ok(denied.stderr.includes(wrong), denied.stderr);
  const untrusted = await run(["--authfile", good, "-i", ref, "true"], { TSMINC_CACHE: join(work, "cache-untrusted") });
  assert.equal(untrusted.status, 125);
  assert.match(untrusted.stderr, /--tls-verify=false|--cert-file/);
  const unknown = await run(["-i", `docker://${registry.host}/tools/img:nope`, "true"]);
  assert.equal(unknown.status, 125);
  assert.equal(oneLine(unknown.stderr).length, 1, unknown.stderr);
  assert.match(unknown.stderr, /nope/);
});

test("images lists what was unpacked; rmi forgets a reference and gc prunes what nothing needs", async () => {
  const fresh = join(work, "cache-rmi");
  mkdirSync(fresh, { recursive: true });
  const env = { TSMINC_CACHE: fresh };
  assert.equal((await run(["pull", plainRef], env)).status, 0);
  const listed = out(await run(["images"], env));
  assert.match(listed, /^REFERENCE +DIGEST +ARCH +SIZE\n/);
  assert.ok(listed.includes(plainRef), listed);
  const rmi = await run(["rmi", plainRef], env);
  assert.equal(rmi.status, 0, rmi.stderr);
  assert.match(out(rmi), /^untagged .*\nremoved image root \w+\n(removed blob \w+\n)+$/);
  assert.deepEqual(readdirSync(join(fresh, "images", "roots")), []);
  assert.deepEqual(readdirSync(join(fresh, "images", "blobs", "sha256")), []);
  // what a killed unpack left (its pid is gone) goes with gc; a live one's stays
  const dead = join(fresh, "images", "tmp", "999999999-0a0b0c");
  const live = join(fresh, "images", "tmp", `${process.pid}-0a0b0c`);
  mkdirSync(join(dead, "rootfs"), { recursive: true });
  mkdirSync(live);
  const gc = await run(["gc"], env);
  assert.match(out(gc), /removed an unfinished unpack 999999999-0a0b0c/);
  assert.deepEqual(readdirSync(join(fresh, "images", "tmp")), [`${process.pid}-0a0b0c`]);
  const again = await run(["rmi", plainRef], env);
  assert.equal(again.status, 125);
});

for (const mode of MODES) {
  test(`${mode.name}: --nopriv pulls into the caller's own cache and runs the image as the caller`, async () => {
    const user = { uid: 1000, gid: 1000 };
    const own = mkdtempSync(join(tmpdir(), "tsminc-images-user-"));
    chownSync(own, user.uid, user.gid);
    try {
      const r = await tsminc(
        [...mode.flags, "--nopriv", plainRef, "sh", "-c", 'echo "$GREETING"; cat /keep.txt'],
        undefined,
        user,
        { TSMINC_CACHE: own },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(out(r), `hello world\n${CONTENTS.keep}`);
      const [root] = readdirSync(join(own, "images", "roots"));
      assert.equal(statSync(join(own, "images", "roots", root ?? "", "keep.txt")).uid, user.uid);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
}

test("--dry-run shows the image, the command, the environment and the folder the image's config gives", async () => {
  const r = await run(["--dry-run", "-e", "X=a b", "-i", plainRef]);
  assert.equal(r.status, 0, r.stderr);
  const plan = out(r);
  assert.match(plan, new RegExp(`^from image +${plainRef.replace(/[.:/]/g, "\\$&")}$`, "m"));
  assert.match(plan, /^command +sh -c 'echo "cmd:\$GREETING:\$\(pwd\):\$\(id -u\)"'$/m);
  assert.match(plan, /^environment +PATH=\S+ HOME=\/root 'GREETING=hello world' 'X=a b'$/m);
  assert.match(plan, /^workdir +\/work\/dir$/m);
});

test("three runs at once of an image not pulled yet: each pulls, one root is kept, all run", async () => {
  const fresh = join(work, "cache-parallel");
  const env = { TSMINC_CACHE: fresh };
  const runs = await Promise.all([1, 2, 3].map((n) => run(["-i", plainRef, "echo", String(n)], env)));
  runs.forEach((r, i) => {
    assert.equal(r.status, 0, r.stderr);
    assert.equal(out(r), `${i + 1}\n`);
  });
  assert.equal(readdirSync(join(fresh, "images", "roots")).length, 1);
  assert.deepEqual(readdirSync(join(fresh, "images", "tmp")), []);
  assert.deepEqual(
    readdirSync(join(fresh, "images", "blobs", "sha256")).filter((f) => f.includes(".partial")),
    [],
  );
});

test("--nopriv: an image with folders shut to their owner unpacks as the user, and rmi removes it", async () => {
  const user = { uid: 1000, gid: 1000 };
  const own = mkdtempSync(join(tmpdir(), "tsminc-images-user-"));
  const layer = tarBytes([
    { path: "ro/", type: "dir", mode: 0o555 },
    { path: "ro/deep/", type: "dir", mode: 0o500 },
    { path: "ro/deep/f", body: "shut\n" },
  ]);
  const dir = await imageWithLayer(layer);
  chownSync(own, user.uid, user.gid);
  chmodSync(dir, 0o755);
  const env = { TSMINC_CACHE: own };
  try {
    const ref = `oci:${dir}:bad`;
    const r = await tsminc(["--nopriv", ref, "cat", "/ro/deep/f"], undefined, user, env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(out(r), "shut\n");
    const rmi = await tsminc(["rmi", ref], undefined, user, env);
    assert.equal(rmi.status, 0, rmi.stderr);
    assert.deepEqual(readdirSync(join(own, "images", "roots")), []);
  } finally {
    rmSync(own, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
