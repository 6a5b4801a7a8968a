// Image references: skopeo's transports parsed, bad ones refused with the fix named, printed back alike.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { MincError } from "../../src/core/errors.js";
import { formatImageRef, looksLikeImage, parseImageRef } from "../../src/core/image-ref.js";

const parse = (text: string) => parseImageRef(text, (p) => resolve("/cwd", p));
const D = `sha256:${"ab".repeat(32)}`;

test("docker://: registry, repository, tag or digest; docker.io's short names; latest by default", () => {
  assert.deepEqual(parse("docker://127.0.0.1:5000/tools/busybox:v1"), {
    transport: "docker",
    registry: "127.0.0.1:5000",
    repository: "tools/busybox",
    tag: "v1",
    digest: undefined,
  });
  assert.deepEqual(parse(`docker://localhost/x@${D}`), {
    transport: "docker",
    registry: "localhost",
    repository: "x",
    tag: undefined,
    digest: D,
  });
  const hub = parse("docker://busybox");
  assert.equal(
    hub.transport === "docker" && `${hub.registry} ${hub.repository} ${hub.tag}`,
    "registry-1.docker.io library/busybox latest",
  );
  assert.equal(formatImageRef(hub), "docker://docker.io/library/busybox:latest");
  assert.equal(formatImageRef(parse("docker://127.0.0.1:5000/a/b:t")), "docker://127.0.0.1:5000/a/b:t");
});

test("oci:, oci-archive:, docker-archive: and tarballs: paths made absolute, the reference after the last colon", () => {
  assert.deepEqual(parse("oci:img:v1"), { transport: "oci", path: "/cwd/img", reference: "v1" });
  assert.deepEqual(parse("oci:/a:b/dir"), { transport: "oci", path: "/a:b/dir", reference: undefined });
  assert.deepEqual(parse("oci-archive:x.tar"), { transport: "oci-archive", path: "/cwd/x.tar", reference: undefined });
  assert.deepEqual(parse("docker-archive:/s/x.tar:reg:5000/n:t"), {
    transport: "docker-archive",
    path: "/s/x.tar",
    reference: "reg:5000/n:t",
  });
  assert.deepEqual(parse("docker-archive:x.tar"), {
    transport: "docker-archive",
    path: "/cwd/x.tar",
    reference: undefined,
  });
  assert.deepEqual(parse("root.tar.zst"), { transport: "tarball", path: "/cwd/root.tar.zst", reference: undefined });
  assert.equal(formatImageRef(parse("oci:img:v1")), "oci:/cwd/img:v1");
});

test("what -r and --nopriv take as an image: a transport or a tarball's name, not a folder", () => {
  for (const yes of [
    "docker://a/b",
    "oci:x",
    "oci-archive:y",
    "docker-archive:z",
    "r.tar",
    "r.tgz",
    "r.tar.xz",
    "r.tar.zst",
  ])
    assert.ok(looksLikeImage(yes), yes);
  for (const no of ["/srv/root", "root", "tar", "./oci", "dir.tar/"]) assert.ok(!looksLikeImage(no), no);
});

test("refused, each in one line naming the fix: bad names, tags, digests, registries, unknown transports", () => {
  for (const bad of [
    "docker://127.0.0.1:5000/UPPER:t",
    "docker://127.0.0.1:5000/x:bad tag",
    "docker://127.0.0.1:5000/x@sha256:12",
    "docker://bad host:1/x",
    "docker://",
    "oci:",
    "ftp://x",
    "dir/with\nnewline.tar",
  ]) {
    assert.throws(
      () => parse(bad),
      (e: unknown) => e instanceof MincError && e.code === "usage" && !e.message.includes("\n") && e.hint !== undefined,
      JSON.stringify(bad),
    );
  }
});
