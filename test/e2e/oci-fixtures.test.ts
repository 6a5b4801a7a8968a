// The OCI fixtures as skopeo, GNU tar and gzip see them: valid layouts, indexes, archives and tarballs.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { execa } from "execa";
import {
  archiveOf,
  CONTENTS,
  IMAGE_CMD,
  IMAGE_ENV,
  IMAGE_WORKDIR,
  imageLayout,
  imageWithLayer,
  indexLayout,
  MEDIA,
  rootfsTarball,
  writeImageLayout,
} from "../helpers/oci-fixtures.js";

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}
interface Manifest {
  mediaType: string;
  config: Desc;
  layers: Desc[];
}
interface Config {
  architecture: string;
  os: string;
  variant?: string;
  config: { Cmd?: string[]; Env?: string[]; WorkingDir?: string; User?: string };
  rootfs: { type: string; diff_ids: string[] };
}

/** Folders this file made, removed when it ends. */
const made: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-oci-test-"));
  made.push(dir);
  return dir;
};

after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function run(file: string, args: readonly string[]): Promise<string> {
  const r = await execa(file, args, { reject: false, all: true, stdin: "ignore" });
  assert.equal(r.exitCode, 0, `${file} ${args.join(" ")}:\n${r.all}`);
  return r.stdout;
}

const skopeo = (...args: string[]) => run("skopeo", ["--insecure-policy", ...args]);
const json = async <T>(...args: string[]) => JSON.parse(await skopeo(...args)) as T;
const blobPath = (dir: string, digest: string) => join(dir, "blobs/sha256", digest.replace(/^sha256:/, ""));
const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** The uncompressed tar of a layer blob, gunzipped by gzip itself when its type says so. */
async function uncompressed(dir: string, layer: Desc): Promise<Buffer> {
  const path = blobPath(dir, layer.digest);
  if (layer.mediaType === MEDIA.tar) return readFileSync(path);
  assert.equal(layer.mediaType, MEDIA.tarGzip);
  const r = await execa("gzip", ["-dc", path], { encoding: "buffer", stdin: "ignore" });
  return Buffer.from(r.stdout);
}

/** Checks the layers of an image against its config's diff_ids, with gzip doing the gunzipping. */
async function assertDiffIds(dir: string, manifest: Manifest, config: Config): Promise<Buffer[]> {
  assert.equal(config.rootfs.type, "layers");
  const tars = await Promise.all(manifest.layers.map((l) => uncompressed(dir, l)));
  assert.deepEqual(config.rootfs.diff_ids, tars.map(sha256));
  return tars;
}

/** `tar -tv` of a tar given as bytes: one line per entry. */
async function listing(tar: Buffer): Promise<string[]> {
  const r = await execa("tar", ["--numeric-owner", "-tvf", "-"], { input: tar });
  return r.stdout.split("\n");
}

test("the two-layer image is a valid OCI layout with the right manifest, config and layers", async () => {
  const image = await imageLayout("x86_64");
  assert.equal(image.tag, "v1");
  const ref = `oci:${image.dir}:${image.tag}`;
  const manifest = await json<Manifest>("inspect", "--raw", ref);
  assert.equal(manifest.mediaType, MEDIA.manifest);
  assert.equal(manifest.config.mediaType, MEDIA.config);
  assert.equal(manifest.config.digest, image.configDigest);
  assert.deepEqual(
    manifest.layers.map((l) => l.mediaType),
    [MEDIA.tarGzip, MEDIA.tar],
  );
  assert.deepEqual(
    manifest.layers.map((l) => l.digest),
    image.layerDigests,
  );
  const inspected = await json<{ Digest: string; Architecture: string }>("inspect", ref);
  assert.equal(inspected.Digest, image.manifestDigest);
  assert.equal(inspected.Architecture, "amd64");

  const config = await json<Config>("inspect", "--config", ref);
  assert.equal(config.architecture, "amd64");
  assert.equal(config.os, "linux");
  assert.equal(config.variant, undefined);
  assert.deepEqual(config.config.Cmd, IMAGE_CMD);
  assert.deepEqual(config.config.Env, IMAGE_ENV);
  assert.equal(config.config.WorkingDir, IMAGE_WORKDIR);
  assert.equal(config.config.User, undefined);

  const [one, two] = await assertDiffIds(image.dir, manifest, config);
  assert.ok(one && two);
  const lower = await listing(one);
  for (const [path, owner] of [
    ["bin/busybox", "0/0"],
    ["bin/sh -> /bin/busybox", "0/0"],
    ["etc/passwd", "0/0"],
    ["home/app/", "1000/1000"],
    ["work/dir/", "0/0"],
    ["gone-dir/x", "0/0"],
    ["opq/b", "0/0"],
    ["keep.txt", "0/0"],
  ] as const)
    assert.ok(
      lower.some((line) => line.includes(` ${owner} `) && line.endsWith(` ${path}`)),
      `${path} owned ${owner} in:\n${lower.join("\n")}`,
    );
  assert.ok(lower.some((line) => line.startsWith("drwxrwxrwt") && line.endsWith(" tmp/")));
  const upper = await listing(two);
  const names = upper.map((line) => line.split(" ").at(-1));
  assert.deepEqual(names, [".wh.gone-dir", ".wh.gone.txt", "etc/", "etc/motd", "opq/", "opq/.wh..wh..opq", "opq/c"]);
  for (const line of upper.filter((l) => l.includes(".wh.")))
    assert.match(line, /^-rw-r--r-- 0\/0 +0 2023-11-14 /, line);

  // GNU tar unpacks layer 1 and finds the files tests read.
  const root = scratch();
  await execa("tar", ["-xf", "-", "-C", root], { input: one });
  assert.equal(readFileSync(join(root, "keep.txt"), "utf8"), CONTENTS.keep);
  assert.match(readFileSync(join(root, "etc/passwd"), "utf8"), /^app:x:1000:1000:app:\/home\/app:\/bin\/sh$/m);
  assert.match(readFileSync(join(root, "etc/group"), "utf8"), /^app:x:1000:$/m);
  await execa("tar", ["-xf", "-", "-C", root], { input: two });
  assert.equal(readFileSync(join(root, "etc/motd"), "utf8"), CONTENTS.motd);
  assert.equal(readFileSync(join(root, "opq/c"), "utf8"), CONTENTS.upper);

  // skopeo checks every blob's digest and size as it copies (and would gzip layer 2 unless told not to).
  const copy = scratch();
  await skopeo("copy", "-q", "--preserve-digests", ref, `oci:${copy}:copied`);
  assert.equal((await json<{ Digest: string }>("inspect", `oci:${copy}:copied`)).Digest, image.manifestDigest);
});

test("the same inputs give the same digests", async () => {
  const image = await imageLayout("x86_64");
  const again = writeImageLayout(scratch(), "x86_64");
  assert.equal(again.manifestDigest, image.manifestDigest);
  assert.deepEqual(again.layerDigests, image.layerDigests);
});

test("the User variant sets config.User, here on arm64 v8", async () => {
  const image = await imageLayout("arm64", { user: "app" });
  assert.equal(image.tag, "user");
  const ref = `oci:${image.dir}:${image.tag}`;
  const config = await json<Config>("inspect", "--config", ref);
  assert.equal(config.config.User, "app");
  assert.equal(config.architecture, "arm64");
  assert.equal(config.variant, "v8");
  assert.deepEqual(config.config.Cmd, IMAGE_CMD);
  await assertDiffIds(image.dir, await json<Manifest>("inspect", "--raw", ref), config);
  const plain = await imageLayout("arm64");
  assert.notEqual(plain.manifestDigest, image.manifestDigest);
  assert.deepEqual(plain.layerDigests, image.layerDigests);
});

test("the index names the image of each of the three platforms, layer 2 shared", async () => {
  const layout = await indexLayout();
  const ref = `oci:${layout.dir}:${layout.tag}`;
  const index = await json<{ mediaType: string; manifests: Desc[] }>("inspect", "--raw", ref);
  assert.equal(index.mediaType, MEDIA.index);
  assert.deepEqual(
    index.manifests.map((m) => [m.mediaType, m.platform, m.digest]),
    [
      [MEDIA.manifest, { os: "linux", architecture: "amd64" }, layout.digests.amd64],
      [MEDIA.manifest, { os: "linux", architecture: "arm64", variant: "v8" }, layout.digests.arm64],
      [MEDIA.manifest, { os: "linux", architecture: "arm", variant: "v7" }, layout.digests.arm],
    ],
  );
  const firstLayers = new Set<string>();
  const secondLayers = new Set<string>();
  for (const desc of index.manifests) {
    const manifest = JSON.parse(readFileSync(blobPath(layout.dir, desc.digest), "utf8")) as Manifest;
    const config = JSON.parse(readFileSync(blobPath(layout.dir, manifest.config.digest), "utf8")) as Config;
    assert.equal(config.architecture, desc.platform?.architecture);
    assert.equal(config.variant, desc.platform?.variant);
    await assertDiffIds(layout.dir, manifest, config);
    firstLayers.add(manifest.layers[0]?.digest ?? "");
    secondLayers.add(manifest.layers[1]?.digest ?? "");
  }
  assert.equal(firstLayers.size, 3);
  assert.equal(secondLayers.size, 1);

  const arm = await json<Config>("--override-arch", "arm", "--override-variant", "v7", "inspect", "--config", ref);
  assert.equal(arm.architecture, "arm");
  assert.deepEqual(arm.config.Env, IMAGE_ENV);
  const copy = scratch();
  await skopeo("copy", "-q", "--all", "--preserve-digests", ref, `oci:${copy}:copied`);
  assert.deepEqual(JSON.parse(await skopeo("inspect", "--raw", `oci:${copy}:copied`)), index);
});

test("docker-archive and oci-archive copies are readable by skopeo", async () => {
  const image = await imageLayout("x86_64");
  const dir = scratch();
  for (const kind of ["docker-archive", "oci-archive"] as const) {
    const file = await archiveOf(image.dir, image.tag, kind, join(dir, `${kind}.tar`));
    const inspected = await json<{ Digest: string; Architecture: string; Layers: string[]; Env: string[] }>(
      "inspect",
      `${kind}:${file}`,
    );
    if (kind === "oci-archive") assert.equal(inspected.Digest, image.manifestDigest);
    assert.equal(inspected.Architecture, "amd64");
    assert.equal(inspected.Layers.length, 2);
    assert.deepEqual(inspected.Env, IMAGE_ENV);
  }
  const multi = await indexLayout();
  const file = await archiveOf(multi.dir, multi.tag, "docker-archive", join(dir, "arm64.tar"), { arch: "arm64" });
  const config = await json<Config>("inspect", "--config", `docker-archive:${file}`);
  assert.equal(config.architecture, "arm64");
});

test("rootfs tarballs list bin/busybox and hold /etc/motd, in each compression", async () => {
  const magic = { none: [], gzip: [0x1f, 0x8b], xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a], zstd: [0x28, 0xb5, 0x2f, 0xfd] };
  for (const compression of ["none", "gzip", "xz", "zstd"] as const) {
    const path = await rootfsTarball("x86_64", compression);
    const head = readFileSync(path).subarray(0, 512);
    assert.deepEqual([...head.subarray(0, magic[compression].length)], magic[compression], compression);
    if (compression === "none") assert.equal(head.toString("latin1", 257, 262), "ustar");
    const names = (await run("tar", ["-tf", path])).split("\n");
    assert.ok(names.includes("bin/busybox"), `${compression}: ${names.slice(0, 5).join(" ")}`);
    assert.ok(names.every((n) => !n.startsWith("/") && !n.startsWith("./")));
    assert.equal(await run("tar", ["-xOf", path, "etc/motd"]), CONTENTS.tarballMotd);
  }
});

test("imageWithLayer puts the given bytes on a busybox base, plain or gzipped", async () => {
  const src = scratch();
  writeFileSync(join(src, "evil.txt"), "hello");
  const tar = Buffer.from((await execa("tar", ["-cf", "-", "-C", src, "evil.txt"], { encoding: "buffer" })).stdout);
  const gz = Buffer.from((await execa("gzip", ["-c"], { input: tar, encoding: "buffer" })).stdout);
  for (const [bytes, mediaType] of [
    [tar, MEDIA.tar],
    [gz, MEDIA.tarGzip],
  ] as const) {
    const dir = await imageWithLayer(bytes, "x86_64");
    made.push(dir);
    const ref = `oci:${dir}:bad`;
    const manifest = await json<Manifest>("inspect", "--raw", ref);
    const added = manifest.layers[1];
    assert.equal(manifest.layers.length, 2);
    assert.ok(added);
    assert.equal(added.mediaType, mediaType);
    assert.equal(added.digest, sha256(bytes));
    const config = await json<Config>("inspect", "--config", ref);
    assert.equal(config.rootfs.diff_ids[1], sha256(tar));
    await assertDiffIds(dir, manifest, config);
    await skopeo("copy", "-q", "--preserve-digests", ref, `oci:${scratch()}:copied`);
  }
});
