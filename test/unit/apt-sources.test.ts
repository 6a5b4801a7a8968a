// Finding the host's Debian mirror in its apt sources, and the private sources.list made from it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findDebianMirror, privateSourcesList } from "../../src/core/apt-sources.js";

const deb822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;

test("deb822 .sources files give the mirror and its security archive", () => {
  const m = findDebianMirror([{ name: "debian.sources", text: deb822 }], "bookworm");
  assert.deepEqual(m, {
    uri: "http://mirror.example/debian",
    suite: "bookworm",
    security: { uri: "http://mirror.example/debian-security", suite: "bookworm-security" },
  });
});

test("one-line sources.list entries with options are read too", () => {
  const text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://local/debian bookworm main contrib\n";
  assert.equal(findDebianMirror([{ name: "sources.list", text }], "bookworm").uri, "http://local/debian");
});

test("without an entry for the codename, deb.debian.org is used", () => {
  const m = findDebianMirror([{ name: "x.list", text: "deb http://other/ubuntu jammy main\n" }], "bookworm");
  assert.equal(m.uri, "http://deb.debian.org/debian");
  assert.equal(m.security, undefined);
});

test("the private list has a deb-src entry for orig tarballs and deb entries for linux-source", () => {
  const m = findDebianMirror([{ name: "debian.sources", text: deb822 }], "bookworm");
  assert.deepEqual(privateSourcesList(m, "/k.gpg").trim().split("\n"), [
    "deb-src [signed-by=/k.gpg] http://mirror.example/debian bookworm main",
    "deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main",
    "deb [signed-by=/k.gpg] http://mirror.example/debian-security bookworm-security main",
  ]);
});
