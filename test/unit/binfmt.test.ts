// binfmt_misc for ns-mode --arch: parsing the kernel's entry files, matching an arch's ELF header,
// and what the ns planner does with the handler it finds (or does not).
import assert from "node:assert/strict";
import { test } from "node:test";
import { toRunConfig, type RawRunOptions } from "../../src/config/from-flags.js";
import { binfmtFor, parseBinfmtEntry, type BinfmtEntry, type BinfmtFacts } from "../../src/core/binfmt.js";
import { elfArch, elfHeader } from "../../src/core/elf.js";
import { MincError } from "../../src/core/errors.js";
import { planNs } from "../../src/core/ns-plan.js";
import { facts } from "../helpers/facts.js";

// What Debian's qemu-user-static registers, as /proc/sys/fs/binfmt_misc/qemu-aarch64 prints it.
const AARCH64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
const ARM = AARCH64.replace("aarch64", "arm")
  .replace("0201010000000000000000000200b700", "01010100000000000000000002002800")
  .replace("flags: POF", "flags: ");

const entry = (name: string, text: string): BinfmtEntry => {
  const e = parseBinfmtEntry(name, text);
  assert.ok(e);
  return e;
};

test("an entry file: enabled, interpreter, flags, offset, magic and mask", () => {
  const e = entry("qemu-aarch64", AARCH64);
  assert.equal(e.enabled, true);
  assert.equal(e.interpreter, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
  assert.equal(e.flags, "POF");
  assert.equal(e.offset, 0);
  assert.equal(e.magic.toString("hex"), "7f454c460201010000000000000000000200b700");
  assert.equal(e.mask.length, 20);
  assert.equal(entry("x", AARCH64.replace("enabled", "disabled")).enabled, false);
  assert.equal(entry("x", ARM).flags, "");
});

test("extension entries and junk are not magic handlers", () => {
  assert.equal(parseBinfmtEntry("exe", "enabled\ninterpreter /usr/bin/wine\nflags: \nextension .exe\n"), undefined);
  assert.equal(parseBinfmtEntry("x", ""), undefined);
  assert.equal(parseBinfmtEntry("x", "enabled\ninterpreter /i\nmagic zz\n"), undefined);
});

test("the canonical header of each arch reads back as that arch", () => {
  for (const arch of ["x86_64", "arm64", "arm"] as const) assert.deepEqual(elfArch(elfHeader(arch)), { arch });
});

test("the handler for an arch is the enabled one whose masked magic matches its ELF header", () => {
  const aarch64 = entry("qemu-aarch64", AARCH64);
  const arm = entry("qemu-arm", ARM);
  assert.equal(binfmtFor("arm64", [arm, aarch64])?.name, "qemu-aarch64");
  assert.equal(binfmtFor("arm", [arm, aarch64])?.name, "qemu-arm");
  assert.equal(binfmtFor("x86_64", [arm, aarch64]), undefined);
  assert.equal(binfmtFor("arm64", [entry("qemu-aarch64", AARCH64.replace("enabled", "disabled"))]), undefined);
  // A magic at an offset past the header's end never matches.
  assert.equal(binfmtFor("arm64", [{ ...aarch64, offset: 4 }]), undefined);
});

const binfmt = (over: Partial<BinfmtFacts> = {}): BinfmtFacts => ({
  mounted: true,
  enabled: true,
  entries: [entry("qemu-aarch64", AARCH64), entry("qemu-arm", ARM)],
  interpreterExists: { "/usr/libexec/qemu-binfmt/arm-binfmt-P": true },
  ...over,
});
const plan = (raw: RawRunOptions, b: BinfmtFacts | undefined, rootfsArch: "arm64" | "arm") =>
  planNs(
    toRunConfig({ rootdir: "/r", ...raw }, ["true"], "/"),
    facts({ binfmt: b, rootfsArch: { arch: rootfsArch } }),
    "/run/tsminc/tsminc-T",
  );

test("a foreign rootfs on the host runs with the host's own busybox; an F handler needs nothing inside", () => {
  const p = plan({ arch: "aarch64" }, binfmt(), "arm64");
  assert.ok(p.args.includes("/img/x86_64/busybox"));
  assert.ok(!p.args.includes("/img/arm64/busybox"));
  assert.ok(!p.args.includes("--interpreter"));
  assert.deepEqual(p.notices, []);
});

test("a handler without F: its interpreter is handed to enter.sh to bind inside the root", () => {
  const p = plan({}, binfmt(), "arm");
  const at = p.args.indexOf("--interpreter");
  assert.equal(p.args[at + 1], "/usr/libexec/qemu-binfmt/arm-binfmt-P");
  assert.match(p.notices[0] ?? "", /built for arm: running it with --arch arm/);
});

test("refused, each in one line with the fix: no binfmt_misc, disabled, no handler, a missing interpreter", () => {
  const refused = (b: BinfmtFacts | undefined, arch: "arm64" | "arm", message: RegExp, hint: RegExp) => {
    assert.throws(
      () => plan({}, b, arch),
      (err: unknown) =>
        err instanceof MincError &&
        err.code === "missing-tool" &&
        message.test(err.message) &&
        hint.test(err.hint ?? "") &&
        !err.message.includes("\n"),
    );
  };
  const needs = /running an arm64 rootfs on this x86_64 host without a VM needs qemu-user through binfmt_misc/;
  refused(binfmt({ mounted: false }), "arm64", needs, /mount -t binfmt_misc .*or add --qemu/);
  refused(undefined, "arm64", /binfmt_misc is not mounted/, /mount -t binfmt_misc/);
  refused(binfmt({ enabled: false }), "arm64", /binfmt_misc is disabled/, /echo 1 > .*status/);
  refused(binfmt({ entries: [] }), "arm64", /no binfmt_misc handler runs arm64 programs/, /qemu-user-static/);
  refused(
    binfmt({ interpreterExists: {} }),
    "arm",
    /handler qemu-arm for arm names \/usr\/libexec\/qemu-binfmt\/arm-binfmt-P, which does not exist/,
    /echo -1 > \/proc\/sys\/fs\/binfmt_misc\/qemu-arm/,
  );
});
