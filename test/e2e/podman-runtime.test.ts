// podman (Debian's, with conmon) running its containers through tsminc-runtime: in an ermine
// micro-VM by default, in namespaces with the run.tsminc.mode=ns annotation. Status, stdio byte for
// byte, stdin to EOF, -e, -w, --user, --hostname, -v (:ro too), --tmpfs and --read-only reach the
// container; nothing is left behind.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { packageRoot } from "../../src/host/paths.js";
import { breedAll } from "../helpers/cli.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { podman, podmanImage, podmanMissing } from "../helpers/podman.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";

const RUNTIME = join(packageRoot, "dist/src/cli/tsminc-runtime.js");
const STATE = "/run/tsminc-runtime";
let image = "";
let shared = "";

before(async () => {
  await breedAll();
  if (podmanMissing() === undefined) image = await podmanImage(busyboxRootfs("x86_64"), "tsminc-test-busybox");
  shared = mkdtempSync(join(tmpdir(), "tsminc-podman-"));
  chmodSync(shared, 0o755); // the container's user 1000 reads it
  writeFileSync(join(shared, "in.txt"), "from the host\n");
});

after(() => {
  rmSync(shared, { recursive: true, force: true });
});

function ready(t: TestContext): boolean {
  const missing = podmanMissing();
  if (missing !== undefined) skipBecause(t, missing);
  return missing === undefined;
}

const run = (args: readonly string[], input?: string | Buffer) =>
  podman(["run", "--rm", ...args], { runtime: RUNTIME, ...(input === undefined ? {} : { input }) });

const MODES = [
  { name: "vm", flags: [] as string[] },
  { name: "ns", flags: ["--annotation", "run.tsminc.mode=ns"] },
] as const;

for (const mode of MODES) {
  test(`podman run --runtime tsminc-runtime (${mode.name}): the status, stdout and stderr apart, byte for byte`, async (t) => {
    if (!ready(t)) return;
    const before = snapshot();
    const r = await run([...mode.flags, image, "sh", "-c", "echo out; printf 'e\\tr r\\n' >&2; exit 3"]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout.toString(), "out\n");
    assert.equal(r.stderr, "e\tr r\n");
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
    assert.deepEqual(readdirSync(STATE), []);
  });

  test(`podman run -i --runtime tsminc-runtime (${mode.name}): stdin to EOF, -e, -w, --user, --hostname, -v`, async (t) => {
    if (!ready(t)) return;
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x41]);
    const cat = await run(["-i", ...mode.flags, image, "cat"], bytes);
    assert.equal(cat.status, 0, cat.stderr);
    assert.deepEqual(cat.stdout, bytes);
    const r = await run([
      ...mode.flags,
      "-e",
      "FOO=b a r",
      "-w",
      "/tmp",
      "--user",
      "1000:1000",
      "--hostname",
      "podbox",
      "-v",
      `${shared}:/x`,
      image,
      "sh",
      "-c",
      'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$(hostname)|$(cat /x/in.txt)"',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "b a r|/tmp|1000:1000|podbox|from the host\n");
  });

  test(`podman run --runtime tsminc-runtime (${mode.name}): --read-only, --tmpfs, -v :ro`, async (t) => {
    if (!ready(t)) return;
    const r = await run([
      ...mode.flags,
      "--read-only",
      "--tmpfs",
      "/scratch:size=2m",
      "-v",
      `${shared}:/x:ro`,
      image,
      "sh",
      "-c",
      [
        "echo w > /scratch/f && cat /scratch/f /x/in.txt",
        'grep -q " /scratch tmpfs .*size=2048k" /proc/mounts && echo sized',
        "touch /tmp/ok && echo tmp-writable",
        "(echo y > /x/new) 2>/dev/null || echo bind-read-only",
        "(echo y > /etc/new) 2>/dev/null || echo root-read-only",
      ].join("; "),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "w\nfrom the host\nsized\ntmp-writable\nbind-read-only\nroot-read-only\n");
    assert.deepEqual(readdirSync(shared), ["in.txt"]);
  });
}

test("podman run --runtime tsminc-runtime: the container's kernel is the VM's own", async (t) => {
  if (!ready(t)) return;
  const r = await run([image, "sh", "-c", "cat /proc/cmdline"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /ERMINE|console=/);
});
