// tsermine breed's option validation, the arch table's aliases, and the toolchain check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toBuildConfig } from "../../breeder/build-config.js";
import { checkRequirements } from "../../breeder/toolchain.js";
import { ARCH_NAMES, crossPrefix, lookupArch } from "../../src/core/arch.js";
import { MincError } from "../../src/core/errors.js";

const facts = { cpus: 2, defaultOutDir: "/pkg/images", isDirectory: (p: string) => p === "/srv/tarballs" };

function usageError(fn: () => unknown, message: RegExp, hint: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MincError);
    assert.equal(err.code, "usage");
    assert.match(err.message, message);
    assert.match(err.hint ?? "", hint);
    return true;
  });
}

test("defaults: x86_64, smallconfig, auto sources, one job per CPU, images/", () => {
  assert.deepEqual(toBuildConfig({}, facts), {
    arches: ["x86_64"],
    configs: ["smallconfig"],
    sources: { kind: "auto" },
    jobs: 2,
    rebuild: false,
    outDir: "/pkg/images",
  });
});

test("--arch all and aliases", () => {
  assert.deepEqual(toBuildConfig({ arch: "all" }, facts).arches, ARCH_NAMES);
  assert.deepEqual(toBuildConfig({ arch: "aarch64" }, facts).arches, ["arm64"]);
  assert.deepEqual(toBuildConfig({ arch: "armhf" }, facts).arches, ["arm"]);
  assert.equal(lookupArch("AMD64"), "x86_64");
  usageError(() => toBuildConfig({ arch: "sparc" }, facts), /unknown arch "sparc"/, /x86_64\|arm64\|arm\|all/);
});

test("--sources: keywords, URLs, folders, and nothing else", () => {
  assert.deepEqual(toBuildConfig({ sources: "debian" }, facts).sources, { kind: "debian" });
  assert.deepEqual(toBuildConfig({ sources: "http://127.0.0.1:8080/m" }, facts).sources, {
    kind: "url",
    url: "http://127.0.0.1:8080/m",
  });
  assert.deepEqual(toBuildConfig({ sources: "/srv/tarballs" }, facts).sources, { kind: "dir", dir: "/srv/tarballs" });
  usageError(
    () => toBuildConfig({ sources: "ftp-ish" }, facts),
    /unknown --sources value "ftp-ish"/,
    /auto\|upstream\|debian\|DIR\|URL/,
  );
});

test("--jobs takes a positive whole number", () => {
  assert.equal(toBuildConfig({ jobs: "8" }, facts).jobs, 8);
  for (const bad of ["0", "-1", "two", "1.5"])
    usageError(() => toBuildConfig({ jobs: bad }, facts), /--jobs/, /--jobs 4/);
});

test("cross prefixes come from Debian's triplets; native builds have none", () => {
  assert.equal(crossPrefix("arm64", "x64"), "aarch64-linux-gnu-");
  assert.equal(crossPrefix("arm", "x64"), "arm-linux-gnueabihf-");
  assert.equal(crossPrefix("x86_64", "x64"), "");
  assert.equal(crossPrefix("arm64", "arm64"), "");
});

test("missing tools are named with the apt-get line that installs them", () => {
  const present = new Set(["make", "gcc", "bc", "flex", "perl", "xz", "lz4", "bzip2"]);
  const probe = { hasProgram: (p: string) => present.has(p), hasFile: () => true };
  assert.throws(
    () => {
      checkRequirements(["x86_64", "arm64"], "x64", false, probe);
    },
    (err: unknown) => {
      assert.ok(err instanceof MincError);
      assert.equal(err.code, "missing-tool");
      assert.match(err.message, /bison/);
      assert.match(err.message, /aarch64-linux-gnu-gcc/);
      assert.equal(err.hint, "apt-get install bison gcc-aarch64-linux-gnu");
      return true;
    },
  );
  present.add("bison").add("aarch64-linux-gnu-gcc");
  checkRequirements(["x86_64", "arm64"], "x64", false, probe);
});

test("--sources debian also needs apt-get and dpkg-deb", () => {
  const probe = { hasProgram: (p: string) => p !== "dpkg-deb", hasFile: () => true };
  checkRequirements(["x86_64"], "x64", false, probe);
  assert.throws(() => {
    checkRequirements(["x86_64"], "x64", true, probe);
  }, /dpkg-deb/);
});
