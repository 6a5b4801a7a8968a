// The source layer against a real HTTP server on 127.0.0.1: mirrors, checksums, resumed downloads, folders.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, afterEach, before, beforeEach, test } from "node:test";
import type { SourceName, SourcePin } from "../../breeder/pins.js";
import { acquireSources, type SourcesContext } from "../../breeder/sources.js";
import { MincError } from "../../src/core/errors.js";
import { sha256Text } from "../../src/host/hash.js";
import { spawnRunner } from "../../src/host/spawn-runner.js";
import { makeTarball, startTarballServer, type TarballServer } from "../helpers/tarball-server.js";

let server: TarballServer;
let cacheDir: string;
const bodies = {
  linux: makeTarball("linux-9.9"),
  busybox: makeTarball("busybox-9.9"),
};

function pins(over: Partial<Record<SourceName, Partial<SourcePin>>> = {}): Record<SourceName, SourcePin> {
  const pin = (name: SourceName): SourcePin => ({
    name,
    version: "9.9",
    file: `${name}-9.9.tar.gz`,
    sha256: sha256Text(bodies[name]),
    url: `${server.url}/upstream/${name}-9.9.tar.gz`,
    debian: { kind: "orig", sourcePackage: name, origFile: `${name}_9.9.orig.tar.gz` },
    ...over[name],
  });
  return { linux: pin("linux"), busybox: pin("busybox") };
}

function ctx(p = pins()): SourcesContext {
  return {
    runner: spawnRunner,
    cacheDir,
    log: new PassThrough().resume(),
    notice: () => undefined,
    progress: () => () => undefined,
    pins: p,
  };
}

before(async () => {
  server = await startTarballServer();
  for (const [name, body] of Object.entries(bodies)) {
    server.files.set(`/mirror/${name}-9.9.tar.gz`, { body });
    server.files.set(`/upstream/${name}-9.9.tar.gz`, { body });
  }
});
after(() => server.close());
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), "tsminc-cache-"));
  server.requests.length = 0;
});
afterEach(() => {
  rmSync(cacheDir, { recursive: true, force: true });
});

test("a mirror URL with upstream's file names works, and a second run uses the cache", async () => {
  const got = await acquireSources(ctx(), { kind: "url", url: `${server.url}/mirror/` });
  for (const name of ["linux", "busybox"] as const) {
    assert.equal(got[name].origin, "mirror");
    assert.equal(got[name].from, `${server.url}/mirror/${name}-9.9.tar.gz`);
    assert.equal(got[name].sha256, sha256Text(bodies[name]));
    assert.ok(existsSync(got[name].path));
  }
  server.requests.length = 0;
  const again = await acquireSources(ctx(), { kind: "url", url: `${server.url}/mirror` });
  assert.ok(Object.values(again).every((s) => s.cached));
  assert.equal(server.requests.length, 0);
});

test("a wrong checksum is rejected, the download deleted, and nothing kept", async () => {
  const bad = pins({ busybox: { sha256: "0".repeat(64) } });
  await assert.rejects(acquireSources(ctx(bad), { kind: "upstream" }), (err: unknown) => {
    assert.ok(err instanceof MincError);
    assert.equal(err.code, "checksum");
    assert.match(err.message, /checksum mismatch for .*busybox-9\.9\.tar\.gz/);
    return true;
  });
  const left = readdirSync(join(cacheDir, "sources"));
  assert.ok(!left.some((f) => f.startsWith("busybox")), `left behind: ${left.join(", ")}`);
  assert.ok(!existsSync(join(cacheDir, "src")), "nothing was extracted");
});

test("a download cut halfway resumes with a Range request and verifies", async () => {
  const served = server.files.get("/upstream/busybox-9.9.tar.gz");
  assert.ok(served);
  served.cutNext = true;
  const got = await acquireSources(ctx(), { kind: "upstream" });
  assert.equal(got.busybox.sha256, sha256Text(bodies.busybox));
  const tries = server.requests.filter((r) => r.path === "/upstream/busybox-9.9.tar.gz");
  assert.equal(tries.length, 2);
  assert.equal(tries[0]?.range, undefined);
  assert.match(tries[1]?.range ?? "", /^bytes=[1-9]\d*-$/);
});

test("a .part left by an earlier run is resumed, not restarted", async () => {
  mkdirSync(join(cacheDir, "sources"), { recursive: true });
  const half = Math.floor(bodies.linux.length / 2);
  writeFileSync(join(cacheDir, "sources", "linux-9.9.tar.gz.part"), bodies.linux.subarray(0, half));
  const got = await acquireSources(ctx(), { kind: "upstream" });
  assert.equal(got.linux.sha256, sha256Text(bodies.linux));
  assert.deepEqual(
    server.requests.filter((r) => r.path.includes("linux")).map((r) => r.range),
    [`bytes=${half}-`],
  );
});

test("an unreachable upstream is a clear error naming the alternatives", async () => {
  const closed = pins({ linux: { url: "http://127.0.0.1:9/linux-9.9.tar.gz" } });
  await assert.rejects(acquireSources(ctx(closed), { kind: "upstream" }), (err: unknown) => {
    assert.ok(err instanceof MincError);
    assert.equal(err.code, "source");
    assert.match(err.hint ?? "", /--sources debian\|DIR\|URL/);
    return true;
  });
});

test("--sources DIR uses the folder's files after checking them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-dir-"));
  for (const [name, body] of Object.entries(bodies)) writeFileSync(join(dir, `${name}-9.9.tar.gz`), body);
  const got = await acquireSources(ctx(), { kind: "dir", dir });
  assert.equal(got.busybox.origin, "dir");
  assert.equal(got.busybox.path, join(dir, "busybox-9.9.tar.gz"));
  writeFileSync(join(dir, "busybox-9.9.tar.gz"), "not a tarball");
  await assert.rejects(acquireSources(ctx(), { kind: "dir", dir }), /checksum mismatch/);
});
