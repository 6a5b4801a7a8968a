// An image's LICENSES.json: what the breeder writes from its inputs, how tsermine reads and shows it,
// and the parsers of the toolchain's answers it is made from.
import assert from "node:assert/strict";
import { test } from "node:test";
import { licenseText } from "../../breeder/licenses.js";
import { dpkgOwner, glibcVersion } from "../../breeder/static-libs.js";
import { MincError } from "../../src/core/errors.js";
import {
  describeLicenses,
  imageLicenses,
  parseLicenses,
  type LicenseInputs,
  type StaticLib,
} from "../../src/core/image-licenses.js";

const hex = (c: string) => c.repeat(64);
const lib = (name: StaticLib["name"], version: string, sha: string): StaticLib => ({
  name,
  version,
  source: { file: `/usr/lib/${name}.a`, sha256: hex(sha), from: `debian:${name}-dev=${version}` },
});
const libc = lib("glibc", "2.36", "a");
const libgcc = lib("libgcc", "12.2.0", "b");

const inputs = (nsrunLibs: readonly StaticLib[] = [libc, libgcc]): LicenseInputs => ({
  arch: "arm64",
  kernelImage: "Image",
  initramfs: "initramfs.cpio.gz",
  sources: {
    linux: {
      version: "6.1.127",
      file: "linux-6.1.127.tar.xz",
      sha256: hex("1"),
      origin: "upstream",
      from: "https://k",
    },
    busybox: { version: "1.35.0", file: "busybox-1.35.0.tar.bz2", sha256: hex("2"), origin: "dir", from: "/srv" },
  },
  busyboxChanges: ["util-linux/mount.c"],
  linuxChanges: ["mm/page_reporting.c"],
  programs: [
    { name: "busybox", in: ["busybox", "initramfs.cpio.gz"], libs: [libc, libgcc] },
    { name: "confine", in: ["confine", "initramfs.cpio.gz"], libs: [libc, libgcc] },
    { name: "nsrun", in: ["nsrun"], libs: nsrunLibs },
  ],
  tsminc: {
    version: "0.1.0",
    in: ["confine", "nsrun", "initramfs.cpio.gz"],
    files: [{ file: "libexec/confine.c", sha256: hex("3"), from: "tsminc 0.1.0" }],
  },
});

test("the licenses name Linux, busybox and the static libc with versions, sha256s and license ids", () => {
  const doc = imageLicenses(inputs());
  const byName = new Map(doc.components.map((c) => [c.name, c]));
  assert.deepEqual([...byName.keys()], ["linux", "busybox", "glibc", "libgcc", "tsminc"]);
  assert.equal(byName.get("linux")?.version, "6.1.127");
  assert.equal(byName.get("linux")?.license, "GPL-2.0-only WITH Linux-syscall-note");
  assert.deepEqual(byName.get("linux")?.in, ["Image"]);
  assert.deepEqual(byName.get("linux")?.sources, [
    { file: "linux-6.1.127.tar.xz", sha256: hex("1"), from: "https://k" },
  ]);
  assert.equal(byName.get("busybox")?.license, "GPL-2.0-only");
  assert.match(byName.get("busybox")?.note ?? "", /util-linux\/mount\.c/);
  assert.match(byName.get("linux")?.note ?? "", /breeder\/kernel\.ts changes mm\/page_reporting\.c \(KERNEL_TWEAKS\)/);
  assert.equal(byName.get("glibc")?.license, "LGPL-2.1-or-later");
  assert.deepEqual(byName.get("glibc")?.in, ["busybox", "initramfs.cpio.gz", "confine", "nsrun"]);
  assert.equal(byName.get("glibc")?.sources[0]?.sha256, hex("a"));
  assert.equal(byName.get("tsminc")?.license, "MIT");
  for (const c of doc.components) for (const text of c.texts) assert.match(text, /^licenses\/[\w.-]+\.txt$/);
});

test("a program linked with another libc (cached before an update) gets its own glibc entry", () => {
  const newer = lib("glibc", "2.36", "c");
  const glibcs = imageLicenses(inputs([newer, libgcc])).components.filter((c) => c.name === "glibc");
  assert.deepEqual(
    glibcs.map((c) => [c.sources[0]?.sha256, c.in]),
    [
      [hex("a"), ["busybox", "initramfs.cpio.gz", "confine"]],
      [hex("c"), ["nsrun"]],
    ],
  );
});

test("LICENSES.json reads back as written; a broken one is one error naming the fix", () => {
  const doc = imageLicenses(inputs());
  assert.deepEqual(parseLicenses(JSON.stringify(doc), "L.json"), doc);
  for (const [text, why] of [
    ["{", /not JSON/],
    ['{"arch":"mips","about":"","components":[]}', /unknown arch "mips"/],
    ['{"arch":"arm","about":"","components":[{"name":"linux"}]}', /a component is malformed/],
  ] as const) {
    assert.throws(
      () => parseLicenses(text, "L.json"),
      (e: unknown) => e instanceof MincError && e.code === "image" && why.test(e.message) && /breed/.test(e.hint ?? ""),
    );
  }
});

test("tsermine list --licenses shows a line per component and each source's sha256", () => {
  const lines = describeLicenses(imageLicenses(inputs())).split("\n");
  assert.ok(lines.some((l) => /^ {2}linux 6\.1\.127 +GPL-2\.0-only WITH Linux-syscall-note +in Image$/.test(l)));
  assert.ok(lines.some((l) => l.includes(`busybox-1.35.0.tar.bz2  sha256:${hex("2")}  (/srv)`)));
  assert.ok(lines.some((l) => /^ {2}glibc 2\.36 +LGPL-2\.1-or-later +in busybox, initramfs\.cpio\.gz/.test(l)));
});

test("the toolchain's answers: glibc's version macros, dpkg's owner of a file, a Linux license file's text", () => {
  assert.equal(
    glibcVersion("#define __GLIBC_PREREQ(maj,min) 1\n#define __GLIBC__ 2\n#define __GLIBC_MINOR__ 36\n"),
    "2.36",
  );
  assert.equal(glibcVersion("#define __STDC__ 1\n"), undefined);
  assert.equal(dpkgOwner("libc6-dev:amd64: /usr/lib/x86_64-linux-gnu/libc.a\n"), "libc6-dev:amd64");
  assert.equal(dpkgOwner("libc6-dev-arm64-cross: /usr/aarch64-linux-gnu/lib/libc.a\n"), "libc6-dev-arm64-cross");
  assert.equal(dpkgOwner("dpkg-query: no path found matching pattern /x\n"), undefined);
  const spdx = "Valid-License-Identifier: GPL-2.0\nUsage-Guide:\n  use it\nLicense-Text:\n\n\tGNU GPL\n";
  assert.equal(licenseText(spdx), "\tGNU GPL\n");
  assert.equal(licenseText("plain text\n"), "plain text\n");
});
