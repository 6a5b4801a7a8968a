// tsminc --qemu on foreign roots: arm64 and 32-bit arm busybox roots in their own ermine VMs (TCG),
// the shared run cases on each, --cpus on every arch, and the rootfs's arch detected from its ELF headers.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
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

for (const arch of ["x86_64", "arm64", "arm"] as const) {
  test(`${arch}: --cpus 2 gives the guest 2 CPUs (nproc), and the default 1`, async () => {
    for (const [flags, cpus] of [
      [["--cpus", "2"], "2"],
      [[], "1"],
    ] as const) {
      const r = await tsminc(["--qemu", "--arch", arch, ...flags, "-r", roots[arch] ?? "", "nproc"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), `${cpus}\n`, `${arch} ${flags.join(" ")}`);
    }
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
