// The container's process from flags and an image's config (docker's rules), and the image documents read on the way.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toRunConfig, type RawRunOptions } from "../../src/config/from-flags.js";
import { containerEnv, parseEnvFile, resolveImageUser, withImage } from "../../src/core/container-process.js";
import { MincError } from "../../src/core/errors.js";
import {
  choosePlatform,
  MEDIA,
  parseImageConfig,
  parseManifestDoc,
  type ImageConfig,
  type ImageIndex,
} from "../../src/core/oci-image.js";

const image: ImageConfig = {
  architecture: "amd64",
  variant: undefined,
  entrypoint: ["/entry"],
  cmd: ["default", "args"],
  env: ["PATH=/bin", "A=image"],
  workingDir: "/work",
  user: "app",
};
const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n";
const group = "root:x:0:\napp:x:1001:\nwheel:x:10:app\n";

const run = (raw: RawRunOptions, command: string[] = [], config = image) =>
  withImage(
    toRunConfig({ image: "oci:/i:t", ...raw }, command, "/", undefined, { env: { MINE: "mine" }, envFiles: {} }),
    {
      rootdir: "/store/roots/r",
      config,
      passwd,
      group,
    },
  );

test("an image's Entrypoint, Cmd, Env, WorkingDir and User run when the flags leave them open", () => {
  const c = run({});
  assert.equal(c.rootdir, "/store/roots/r");
  assert.deepEqual(c.command, ["/entry", "default", "args"]);
  assert.deepEqual(c.commandBytes.map(String), ["/entry", "default", "args"]);
  assert.deepEqual(c.env, ["HOME=/home/app", "PATH=/bin", "A=image"]);
  assert.equal(c.workdir, "/work");
  assert.deepEqual(c.user, { uid: 1000, gid: 1001 });
  assert.deepEqual(containerEnv(c, undefined), ["PATH=/bin", "HOME=/home/app", "A=image"]);
});

test("flags win: a command replaces Cmd, --entrypoint replaces Entrypoint and drops Cmd, -e/-w/--user override", () => {
  assert.deepEqual(run({}, ["x", "y"]).command, ["/entry", "x", "y"]);
  assert.deepEqual(run({ entrypoint: "/other" }).command, ["/other"]);
  assert.deepEqual(run({ entrypoint: "" }, ["ls"]).command, ["ls"]);
  const c = run({ env: ["A=flag", "MINE", "UNSET"], workdir: "/w", user: "5:6" });
  assert.deepEqual(c.env, ["PATH=/bin", "A=flag", "MINE=mine"]);
  assert.equal(c.workdir, "/w");
  assert.deepEqual(c.user, { uid: 5, gid: 6 });
  assert.deepEqual(containerEnv(c, "xterm"), ["PATH=/bin", "HOME=/", "TERM=xterm", "A=flag", "MINE=mine"]);
  // --nopriv maps only the caller: the image's user is not taken
  const nopriv = toRunConfig({ nopriv: "oci:/i:t" }, [], "/");
  assert.equal(withImage(nopriv, { rootdir: "/r", config: image, passwd, group }).user, undefined);
  // a relative WorkingDir is taken from /
  assert.equal(run({}, [], { ...image, workingDir: "w" }).workdir, "/w");
});

test("the raw bytes of a given command reach the container unchanged, after the image's entrypoint", () => {
  const raw = [Buffer.from([0xff, 0x41])];
  const c = withImage(toRunConfig({ image: "oci:/i" }, ["\ufffdA"], "/", raw), {
    rootdir: "/r",
    config: image,
    passwd,
    group: undefined,
  });
  assert.deepEqual(c.commandBytes, [Buffer.from("/entry"), Buffer.from([0xff, 0x41])]);
});

test("an image's user: names and numbers, with or without a group; an unknown name is refused", () => {
  assert.deepEqual(resolveImageUser("app", passwd, group), { uid: 1000, gid: 1001, home: "/home/app" });
  assert.deepEqual(resolveImageUser("app:wheel", passwd, group), { uid: 1000, gid: 10, home: "/home/app" });
  assert.deepEqual(resolveImageUser("42", passwd, group), { uid: 42, gid: 42, home: undefined });
  assert.deepEqual(resolveImageUser("42:7", undefined, undefined), { uid: 42, gid: 7, home: undefined });
  assert.throws(
    () => resolveImageUser("nobody", passwd, group),
    (e: unknown) => e instanceof MincError && /nobody/.test(e.message),
  );
  assert.throws(() => resolveImageUser("app:nogroup", passwd, group), /nogroup/);
});

test("--env-file: KEY=VALUE and KEY lines, comments and blanks skipped, the line named on a bad one", () => {
  assert.deepEqual(parseEnvFile("# c\nA=1\n\nB= two \r\nMINE\nNOPE\n", "f", { MINE: "m" }), [
    "A=1",
    "B= two ",
    "MINE=m",
  ]);
  assert.throws(() => parseEnvFile("A=1\n=x\n", "f.env", {}), /f\.env line 2/);
  const c = toRunConfig({ envFile: ["f"], env: ["A=2"] }, [], "/", undefined, {
    env: {},
    envFiles: { f: "A=1\nB=1\n" },
  });
  assert.deepEqual(c.env, ["A=2", "B=1"]);
});

test("--direct on an image, two image names, and a relative -w are refused", () => {
  assert.throws(() => toRunConfig({ image: "oci:/i", direct: true }, [], "/"), /--direct cannot apply to an image/);
  assert.throws(() => toRunConfig({ image: "oci:/i", rootdir: "x.tar" }, [], "/"), /both name an image/);
  assert.throws(() => toRunConfig({ workdir: "rel" }, [], "/"), /absolute/);
  assert.equal(toRunConfig({ rootdir: "r.tar.gz" }, [], "/x").image?.transport, "tarball");
  // -i without a transport names a registry's image, as podman takes it
  assert.deepEqual(toRunConfig({ image: "127.0.0.1:5000/a/b:t" }, [], "/").image, {
    transport: "docker",
    registry: "127.0.0.1:5000",
    repository: "a/b",
    tag: "t",
    digest: undefined,
  });
  assert.throws(() => toRunConfig({ image: "./dir" }, [], "/"), /is not one tsminc reads/);
});

const desc = (architecture: string, variant?: string) => ({
  mediaType: MEDIA.ociManifest,
  digest: `sha256:${architecture
    .padEnd(64, "0")
    .slice(0, 64)
    .replace(/[^0-9a-f]/g, "1")}`,
  size: 1,
  platform: { os: "linux", architecture, ...(variant === undefined ? {} : { variant }) },
});

test("an index: the arch's manifest (its variant when given), or one line naming what it has", () => {
  const index: ImageIndex = {
    kind: "index",
    manifests: [desc("amd64"), desc("arm64", "v8"), desc("arm", "v6"), desc("arm", "v7")],
  };
  assert.equal(choosePlatform(index, "x86_64", "i").platform?.architecture, "amd64");
  assert.equal(choosePlatform(index, "arm", "i").platform?.variant, "v7");
  assert.equal(choosePlatform(index, "arm64", "i").platform?.variant, "v8");
  assert.throws(
    () => choosePlatform({ kind: "index", manifests: [desc("s390x")] }, "arm64", "reg/x"),
    (e: unknown) =>
      e instanceof MincError && /reg\/x has no linux\/arm64 image \(it has linux\/s390x\)/.test(e.message),
  );
});

test("documents: OCI and Docker media types read alike; malformed ones refused", () => {
  const m = { schemaVersion: 2, config: { digest: `sha256:${"1".repeat(64)}`, size: 2 }, layers: [] };
  assert.equal(parseManifestDoc(JSON.stringify(m), MEDIA.dockerManifest, "x").kind, "manifest");
  assert.equal(parseManifestDoc(JSON.stringify({ manifests: [] }), undefined, "x").kind, "index");
  assert.throws(() => parseManifestDoc("{", undefined, "x"), /not JSON/);
  assert.throws(
    () => parseManifestDoc(JSON.stringify({ ...m, layers: [{ digest: "md5:1", size: 1 }] }), undefined, "x"),
    /sha256/,
  );
  assert.throws(
    () =>
      parseManifestDoc(
        JSON.stringify({ schemaVersion: 1 }),
        "application/vnd.docker.distribution.manifest.v1+json",
        "x",
      ),
    /schema 1/,
  );
  const cfg = parseImageConfig(JSON.stringify({ architecture: "arm64", config: { Cmd: ["a"], Env: null } }), "c");
  assert.deepEqual([cfg.architecture, cfg.cmd, cfg.env, cfg.entrypoint], ["arm64", ["a"], [], []]);
  assert.throws(() => parseImageConfig(JSON.stringify({ config: { Cmd: "sh" } }), "c"), /Cmd is not a list/);
});
