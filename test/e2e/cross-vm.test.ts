// tsminc --qemu on foreign roots: arm64 and 32-bit arm busybox roots in their own ermine VMs (TCG),
// the shared run cases on each, the default size and --cpus/--mem on every arch, and the rootfs's arch detected from its ELF headers.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { availableParallelism, totalmem } from "node:os";
import type { AddressInfo } from "node:net";
import { before, test } from "node:test";
import { ARCHES } from "../../src/core/arch.js";
import { breedAll } from "../helpers/cli.js";
import { RUN_CASES } from "../helpers/cases.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs, debianRootfsOrSkip } from "../helpers/rootfs.js";
import { tsminc } from "../helpers/tsminc.js";

const roots: Record<string, string> = {};

before(async () => {
  await breedAll();
  for (const arch of ["arm64", "arm", "x86_64"] as const) roots[arch] = busyboxRootfs(arch);
});

for (const arch of ["arm64", "arm"] as const) {
  test(`${arch}: uname -m in the VM prints ${ARCHES[arch].unameMachine}`, async () => {
    const r = await tsminc(["--qemu", "--arch", arch, "-r", roots[arch] ?? "", "uname", "-m"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${ARCHES[arch].unameMachine}\n`);
  });

  test(`${arch}: the guest's clock is the host's (an RTC, not 1970)`, async () => {
    const r = await tsminc(["--qemu", "--arch", arch, "-r", roots[arch] ?? "", "date", "+%s"]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Math.abs(Number(r.stdout.toString()) - Date.now() / 1000) < 60, r.stdout.toString());
  });

  for (const c of RUN_CASES) {
    test(`${arch}: ${c.name}`, async () => {
      const before = snapshot();
      const r = await tsminc(
        ["--qemu", "--arch", arch, "-r", roots[arch] ?? "", ...(c.flags ?? []), "--", ...c.command],
        c.input,
      );
      assert.equal(r.status, c.status, r.stderr);
      if (c.stdout) assert.deepEqual(r.stdout, c.stdout, JSON.stringify(r.stdout.toString()));
      if (c.stderr) assert.match(r.stderr, c.stderr);
      assert.deepEqual(await leftoversAfter(before), []);
    });
  }
}

// What the default size should be here, worked out apart from vm-size.ts: every host CPU up to 8,
// a quarter of the host's RAM in 128 MiB steps, from 256 MiB to 2 GiB.
const defaultCpus = Math.min(availableParallelism(), 8);
const defaultMiB = Math.min(2048, Math.max(256, Math.floor(totalmem() / 2 ** 20 / 4 / 128) * 128));

/** nproc and MemTotal (KiB) inside a VM of the arch run with flags. */
async function sizeInside(arch: string, flags: readonly string[]): Promise<[number, number]> {
  const r = await tsminc([
    "--qemu",
    "--arch",
    arch,
    ...flags,
    "-r",
    roots[arch] ?? "",
    "sh",
    "-c",
    "nproc; grep MemTotal /proc/meminfo",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const [nproc, mem] = r.stdout.toString().split("\n");
  return [Number(nproc), Number(/(\d+) kB/.exec(mem ?? "")?.[1])];
}

for (const arch of ["x86_64", "arm64", "arm"] as const) {
  test(`${arch}: with no flags the guest gets the host's CPUs (up to 8) and a quarter of its RAM (256M-2G); --cpus and --mem win`, async () => {
    const [cpus, kib] = await sizeInside(arch, []);
    assert.equal(cpus, defaultCpus, `${arch}: nproc`);
    // MemTotal is the RAM less what the kernel keeps for itself (its image, its page tables).
    assert.ok(
      kib <= defaultMiB * 1024 && kib > (defaultMiB - 96) * 1024,
      `${arch}: MemTotal ${kib} kB, ${defaultMiB} MiB given`,
    );
    const otherCpus = defaultCpus === 1 ? 2 : 1;
    const [cpus2, kib2] = await sizeInside(arch, ["--cpus", String(otherCpus), "--mem", "256M"]);
    assert.equal(cpus2, otherCpus, `${arch} --cpus ${otherCpus}: nproc`);
    assert.ok(kib2 <= 256 * 1024 && kib2 > 160 * 1024, `${arch} --mem 256M: MemTotal ${kib2} kB`);
  });
}

test("arm64 and arm VMs get the network too: a file from the host's loopback through --add-host host-gateway", async () => {
  const server = createServer((_req, res) => res.end("to-a-foreign-vm\n")).listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const port = (server.address() as AddressInfo).port;
    for (const arch of ["arm64", "arm"] as const) {
      const args = ["--qemu", "--arch", arch, "--add-host", "h:host-gateway", "-r", roots[arch] ?? ""];
      const r = await tsminc([...args, "wget", "-q", "-O", "-", `http://10.0.2.2:${port}/`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), "to-a-foreign-vm\n", arch);
    }
  } finally {
    server.close();
  }
});

test("without --arch, a foreign rootfs picks its own arch and says so in one line", async () => {
  const r = await tsminc(["--qemu", "-r", roots.arm64 ?? "", "uname", "-m"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "aarch64\n");
  assert.equal(r.stderr, `tsminc: rootfs ${roots.arm64 ?? ""} is built for arm64: running it with --arch arm64\n`);
});

test("a mismatched --arch and rootfs: one line, a hint, 125, nothing started", async () => {
  const before = snapshot();
  const r = await tsminc(["--qemu", "--arch", "x86_64", "-r", roots.arm ?? "", "true"]);
  assert.equal(r.status, 125);
  const [message, hint, ...rest] = r.stderr.trimEnd().split("\n");
  assert.match(message ?? "", /rootfs \S+ is built for arm, not --arch x86_64/);
  assert.match(hint ?? "", /hint: drop --arch, or use --arch arm/);
  assert.deepEqual(rest, []);
  assert.deepEqual(await leftoversAfter(before), []);
});

test("arm64: a Debian bookworm minbase (debootstrap, second stage through qemu-user) runs in the VM", async (t) => {
  const dir = await debianRootfsOrSkip(t, "arm64");
  if (dir === undefined) return;
  const before = snapshot();
  const r = await tsminc([
    "--qemu",
    "-r",
    dir,
    "sh",
    "-c",
    "uname -m; cat /etc/debian_version; dpkg --print-architecture",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /^aarch64\n12\.\d+\narm64\n$/);
  assert.deepEqual(await leftoversAfter(before), []);
});
