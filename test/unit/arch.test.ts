// The one arch table: the facts kept elsewhere (the install script, the kernel fragments) agree with it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ARCH_NAMES, ARCHES } from "../../src/core/arch.js";
import { elfArch, elfHeader } from "../../src/core/elf.js";
import { packageRoot } from "../../src/host/paths.js";

test("install-deps.sh registers the binfmt_misc handlers the arch table names", () => {
  const script = readFileSync(join(packageRoot, "scripts/install-deps.sh"), "utf8");
  const listed = /^handlers="([^"]*)"$/m.exec(script)?.[1]?.split(" ");
  assert.deepEqual(
    listed,
    ARCH_NAMES.map((a) => ARCHES[a].binfmtName),
  );
});

test("each arch's kernel fragment sets CONFIG_NR_CPUS to the table's maxCpus", () => {
  for (const arch of ARCH_NAMES) {
    const fragment = readFileSync(join(packageRoot, "kernel-configs", `${arch}.config`), "utf8");
    assert.match(fragment, new RegExp(`^CONFIG_NR_CPUS=${ARCHES[arch].maxCpus}$`, "m"), arch);
  }
});

test("the ELF facts round-trip: a header made for an arch reads back as that arch", () => {
  for (const arch of ARCH_NAMES) assert.deepEqual(elfArch(elfHeader(arch)), { arch });
});
