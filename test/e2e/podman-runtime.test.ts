// podman (Debian's, with conmon) running its containers through tsminc-runtime: in an ermine
// micro-VM by default, in namespaces with the run.tsminc.mode=ns annotation. Status, stdio byte for
// byte, stdin to EOF, -e, -w, --user, --hostname, -v (:ro too), --tmpfs and --read-only reach the
// container; nothing is left behind.
import assert from "node:assert/strict";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { packageRoot } from "../../src/host/paths.js";
import { breedAll } from "../helpers/cli.js";
import { logsInclude as logsUntil, shellDialog } from "../helpers/engine.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { podman, podmanImage, podmanMissing, podmanTerminal } from "../helpers/podman.js";
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

  test(`podman run --runtime tsminc-runtime (${mode.name}): --group-add and --ulimit reach the command`, async (t) => {
    if (!ready(t)) return;
    const r = await run([
      ...mode.flags,
      "--user",
      "1000:1000",
      "--group-add",
      "10",
      "--ulimit",
      "nofile=512:768",
      image,
      "sh",
      "-c",
      "cat /proc/self/status /proc/self/limits",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, /^Groups:.*\b10\b/m);
    assert.match(out, /^Max open files\s+512\s+768\s+files/m);
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

for (const mode of MODES) {
  test(`podman run -it --runtime tsminc-runtime (${mode.name}): a prompt, stty size, exit 4`, async (t) => {
    if (!ready(t)) return;
    const before = snapshot();
    const name = `tsminc-it-${mode.name}`;
    const s = podmanTerminal(
      ["run", "--rm", "-it", "--name", name, ...mode.flags, image, "sh"],
      { cols: 100, rows: 30 },
      RUNTIME,
    );
    try {
      await shellDialog(s, { rows: 30, cols: 100 }, 4);
    } finally {
      // A failed wait kills podman's client only: the container would go on without it.
      await podman(["rm", "-f", "--ignore", name], { runtime: RUNTIME });
    }
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
    assert.deepEqual(readdirSync(STATE), []);
  });
}

/** Polls `podman logs` until it holds `text` (the container said it is ready). */
const logsInclude = (name: string, text: string) => logsUntil((args) => podman(args, { runtime: RUNTIME }), name, text);

for (const mode of MODES) {
  test(`podman run -d --runtime tsminc-runtime (${mode.name}): logs, ps, stop reaches the container's own TERM trap, wait, kill -s KILL, rm -f`, async (t) => {
    if (!ready(t)) return;
    const before = snapshot();
    const p = (args: readonly string[]) => podman(args, { runtime: RUNTIME });
    const name = `tsminc-d-${mode.name}`;
    const killed = `tsminc-k-${mode.name}`;
    try {
      const script = 'echo started; trap "echo got-term; exit 7" TERM; while :; do sleep 1; done';
      const started = await p(["run", "-d", "--name", name, ...mode.flags, image, "sh", "-c", script]);
      assert.equal(started.status, 0, started.stderr);
      await logsInclude(name, "started");
      const ps = await p(["ps", "--format", "{{.Names}} {{.Status}}"]);
      assert.match(ps.stdout.toString(), new RegExp(`^${name} Up`, "m"));
      const stop = await p(["stop", "-t", "60", name]);
      assert.equal(stop.status, 0, stop.stderr);
      assert.equal((await p(["wait", name])).stdout.toString().trim(), "7");
      assert.match(await logsInclude(name, "got-term"), /^started\ngot-term\n$/);
      assert.equal((await p(["rm", name])).status, 0);

      assert.equal((await p(["run", "-d", "--name", killed, ...mode.flags, image, "sleep", "600"])).status, 0);
      const kill = await p(["kill", "-s", "KILL", killed]);
      assert.equal(kill.status, 0, kill.stderr);
      assert.equal((await p(["wait", killed])).stdout.toString().trim(), "137");
      assert.equal((await p(["rm", "-f", killed])).status, 0);
    } finally {
      await p(["rm", "-f", "--ignore", name, killed]);
    }
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
    assert.deepEqual(readdirSync(STATE), []);
  });
}

for (const mode of MODES) {
  test(`podman exec --runtime tsminc-runtime (${mode.name}): a second process, its status, stdin, -e, -w, -u; -it, resized`, async (t) => {
    if (!ready(t)) return;
    const before = snapshot();
    const p = (args: readonly string[], input?: string) =>
      podman(args, { runtime: RUNTIME, ...(input === undefined ? {} : { input }) });
    const name = `tsminc-exec-${mode.name}`;
    try {
      const started = await p([
        "run",
        "-d",
        "--name",
        name,
        ...mode.flags,
        image,
        "sh",
        "-c",
        "echo up; exec sleep 600",
      ]);
      assert.equal(started.status, 0, started.stderr);
      await logsInclude(name, "up");
      const r = await p([
        "exec",
        "-e",
        "FOO=b a r",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        name,
        "sh",
        "-c",
        'echo "$FOO|$(pwd)|$(id -u)"; echo err >&2; exit 5',
      ]);
      assert.equal(r.status, 5, r.stderr);
      assert.equal(r.stdout.toString(), "b a r|/tmp|1000\n");
      assert.equal(r.stderr, "err\n");
      const cat = await p(["exec", "-i", name, "cat"], "to the exec\n");
      assert.equal(cat.stdout.toString(), "to the exec\n");
      const s = podmanTerminal(["exec", "-it", name, "sh"], { cols: 90, rows: 20 }, RUNTIME);
      await s.waitFor(/# $/);
      s.write("stty size\r");
      await s.waitFor(/\r\n20 90\r\n/);
      // A resize reaches the process's terminal: the shell's trap sees SIGWINCH, then the new size.
      s.write("trap 'echo winched' WINCH\r");
      s.resize(100, 30);
      await s.waitFor(/winched/);
      s.write("stty size\r");
      await s.waitFor(/\r\n30 100\r\n/);
      s.write("exit 6\r");
      assert.equal(await s.exited, 6, s.screen());
      assert.equal((await p(["rm", "-f", name])).status, 0);
    } finally {
      await p(["rm", "-f", "--ignore", name]);
    }
    assert.deepEqual(await leftoversAfter(before, 10_000), []);
    assert.deepEqual(readdirSync(STATE), []);
  });
}

/**
 * A server on the host's side of podman's default network (its bridge, 10.88.0.1, once a container
 * has made it), or why there is none: runc's own container on that network must work first.
 */
async function serverOnPodmanNetwork(t: TestContext): Promise<{ url: string; close(): void } | undefined> {
  const probe = await podman(["run", "--rm", "--network", "podman", image, "sh", "-c", "ip -4 route"]);
  const gateway = /default via (\d+\.\d+\.\d+\.\d+)/.exec(probe.stdout.toString())?.[1];
  if (probe.status !== 0 || gateway === undefined) {
    skipBecause(t, `podman's default network does not work here even with runc: ${probe.stderr.trim()}`);
    return undefined;
  }
  const server = createServer((_req, res) => res.end("from the host\n"));
  server.listen(0, gateway);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://${gateway}:${port}/`, close: () => server.close() };
}

for (const mode of MODES) {
  test(`podman run --network podman --runtime tsminc-runtime (${mode.name}): the engine's network, its address and a server on its bridge`, async (t) => {
    if (!ready(t)) return;
    const server = await serverOnPodmanNetwork(t);
    if (server === undefined) return;
    try {
      const before = snapshot();
      const r = await podman(
        [
          "run",
          "--rm",
          "--network",
          "podman",
          ...mode.flags,
          image,
          "sh",
          "-c",
          `ip -4 addr show eth0 | grep -o "inet 10\\.88\\.[0-9.]*"; wget -q -O- -T 10 ${server.url}`,
        ],
        { runtime: RUNTIME },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.toString(), /^inet 10\.88\.\d+\.\d+\nfrom the host\n$/);
      assert.deepEqual(await leftoversAfter(before, 10_000), []);
    } finally {
      server.close();
    }
  });
}

test("podman run --memory 256m --cpus 2 --runtime tsminc-runtime: the VM is sized from them", async (t) => {
  if (!ready(t)) return;
  const r = await run(["--memory", "256m", "--cpus", "2", image, "sh", "-c", "nproc; grep MemTotal /proc/meminfo"]);
  assert.equal(r.status, 0, r.stderr);
  const [cpus, mem] = r.stdout.toString().split("\n");
  assert.equal(cpus, "2");
  const kib = Number(/(\d+) kB/.exec(mem ?? "")?.[1]);
  // 256 MiB for the container plus the VM's own 64 MiB, less what the kernel keeps for itself.
  assert.ok(kib > 256 * 1024 && kib <= 320 * 1024, `MemTotal ${kib} kB`);
});

test("podman run --arch arm64 --runtime tsminc-runtime: an arm64 image boots the arm64 ermine", async (t) => {
  if (!ready(t)) return;
  const arm = await podmanImage(busyboxRootfs("arm64"), "tsminc-test-busybox-arm64", "arm64");
  const r = await run(["--arch", "arm64", arm, "uname", "-m"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "aarch64\n");
});

test("podman run --runtime tsminc-runtime: the container's kernel is the VM's own", async (t) => {
  if (!ready(t)) return;
  const r = await run([image, "sh", "-c", "cat /proc/cmdline"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /ERMINE|console=/);
});
