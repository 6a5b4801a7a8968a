// docker (Debian's dockerd 20.10, through its containerd's runc shim) running its containers through
// tsminc-runtime: `--runtime tsminc`, an ermine micro-VM, and `--runtime tsminc-ns`, namespaces on
// the host (the daemon passes --mode=ns: docker 20.10 has no --annotation). Status, stdio byte for
// byte, stdin to EOF, -e, -w, --user, --hostname, -v (:ro too), --tmpfs, --read-only, -it, -d with
// logs, top, exec, pause, update, stop, wait, kill and rm -f, --memory and --cpus reach the
// container; nothing is left behind.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { packageRoot } from "../../src/host/paths.js";
import { breedAll } from "../helpers/cli.js";
import { dockerImage, dockerMissing, startDockerd, type Dockerd } from "../helpers/docker.js";
import { logsInclude, shellDialog } from "../helpers/engine.js";
import { leftoversAfter, snapshot, type Snapshot } from "../helpers/leftovers.js";
import { skipBecause } from "../helpers/skip.js";

const RUNTIME = join(packageRoot, "dist/src/cli/tsminc-runtime.js");
let daemon: Dockerd | undefined;
let image = "";
let shared = "";

before(async () => {
  await breedAll();
  shared = mkdtempSync(join(tmpdir(), "tsminc-docker-share-"));
  chmodSync(shared, 0o755); // the container's user 1000 reads it
  writeFileSync(join(shared, "in.txt"), "from the host\n");
  if (dockerMissing() !== undefined) return;
  daemon = await startDockerd(RUNTIME);
  image = await dockerImage(daemon);
});

after(async () => {
  rmSync(shared, { recursive: true, force: true });
  await daemon?.stop();
});

function ready(t: TestContext): Dockerd | undefined {
  const missing = dockerMissing();
  if (missing !== undefined) skipBecause(t, missing);
  return daemon;
}

const MODES = [
  { name: "vm", runtime: "tsminc" },
  { name: "ns", runtime: "tsminc-ns" },
] as const;

/** Nothing new since `before`: no qemu, mount, tmpdir or cgroup, and no state in tsminc-runtime's root. */
async function nothingLeft(d: Dockerd, before: Snapshot): Promise<void> {
  assert.deepEqual(await leftoversAfter(before, 10_000), []);
  const until = Date.now() + 10_000;
  const state = () => (existsSync(d.stateRoot) ? readdirSync(d.stateRoot) : []);
  while (state().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(state(), []);
}

for (const mode of MODES) {
  const run = (d: Dockerd, args: readonly string[], input?: string | Buffer) =>
    d.docker(["run", "--rm", "--runtime", mode.runtime, "--network", "none", ...args], input);

  test(`docker run --runtime ${mode.runtime}: the status, stdout and stderr apart, byte for byte`, async (t) => {
    const d = ready(t);
    if (d === undefined) return;
    const before = snapshot();
    const r = await run(d, [image, "sh", "-c", "echo out; printf 'e\\tr r\\n' >&2; exit 3"]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout.toString(), "out\n");
    assert.equal(r.stderr, "e\tr r\n");
    await nothingLeft(d, before);
  });

  test(`docker run -i --runtime ${mode.runtime}: stdin to EOF, -e, -w, --user, --hostname, -v`, async (t) => {
    const d = ready(t);
    if (d === undefined) return;
    const before = snapshot();
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x41]);
    const cat = await run(d, ["-i", image, "cat"], bytes);
    assert.equal(cat.status, 0, cat.stderr);
    assert.deepEqual(cat.stdout, bytes);
    const r = await run(d, [
      ...["-e", "FOO=b a r", "-w", "/tmp", "--user", "1000:1000", "--hostname", "dockbox", "-v", `${shared}:/x`],
      image,
      "sh",
      "-c",
      'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$(hostname)|$(cat /x/in.txt)"',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "b a r|/tmp|1000:1000|dockbox|from the host\n");
    await nothingLeft(d, before);
  });

  test(`docker run --runtime ${mode.runtime}: --read-only, --tmpfs, -v :ro`, async (t) => {
    const d = ready(t);
    if (d === undefined) return;
    const r = await run(d, [
      ...["--read-only", "--tmpfs", "/scratch:size=2m", "-v", `${shared}:/x:ro`],
      image,
      "sh",
      "-c",
      [
        "echo w > /scratch/f && cat /scratch/f /x/in.txt",
        'grep -q " /scratch tmpfs .*size=2048k" /proc/mounts && echo sized',
        "(echo y > /x/new) 2>/dev/null || echo bind-read-only",
        "(echo y > /etc/new) 2>/dev/null || echo root-read-only",
      ].join("; "),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "w\nfrom the host\nsized\nbind-read-only\nroot-read-only\n");
    assert.deepEqual(readdirSync(shared), ["in.txt"]);
  });

  test(`docker run -it --runtime ${mode.runtime}: a prompt, stty size, exit 4`, async (t) => {
    const d = ready(t);
    if (d === undefined) return;
    const before = snapshot();
    const name = `tsminc-it-${mode.name}`;
    // docker 20.10 sets no process.consoleSize: the size comes as a resize just after start.
    const s = d.terminal(
      ["run", "--rm", "-it", "--name", name, "--runtime", mode.runtime, "--network", "none", image, "sh"],
      { cols: 100, rows: 30 },
    );
    try {
      await shellDialog(s, { rows: 30, cols: 100 }, 4);
    } finally {
      // A failed wait kills docker's client only: the container would go on without it.
      await d.docker(["rm", "-f", name]);
    }
    await nothingLeft(d, before);
  });

  test(`docker run -d --runtime ${mode.runtime}: logs, ps, top, exec (-i, -it), pause, update, stop reaches the container's TERM trap, wait, kill -s KILL, rm -f`, async (t) => {
    const d = ready(t);
    if (d === undefined) return;
    const before = snapshot();
    const name = `tsminc-d-${mode.name}`;
    const killed = `tsminc-k-${mode.name}`;
    const detached = (n: string, args: readonly string[]) =>
      d.docker(["run", "-d", "--name", n, "--runtime", mode.runtime, "--network", "none", image, ...args]);
    try {
      const script = 'echo started; trap "echo got-term; exit 7" TERM; while :; do sleep 1; done';
      const started = await detached(name, ["sh", "-c", script]);
      assert.equal(started.status, 0, started.stderr);
      await logsInclude(d.docker, name, "started");
      assert.match(
        (await d.docker(["ps", "--format", "{{.Names}} {{.Status}}"])).stdout.toString(),
        new RegExp(`^${name} Up`, "m"),
      );
      // ps --format json: the monitor and its descendants (qemu; in ns mode the container's own).
      const top = (await d.docker(["top", name, "-o", "pid,comm"])).stdout.toString();
      assert.match(top, /\bnode\b/);
      assert.match(top, mode.name === "vm" ? /\bqemu-system/ : /\bsh\b/);

      const exec = await d.docker([
        ...["exec", "-e", "FOO=b a r", "-w", "/tmp", "-u", "1000:1000", name],
        ...["sh", "-c", 'echo "$FOO|$(pwd)|$(id -u)"; echo err >&2; exit 5'],
      ]);
      assert.equal(exec.status, 5, exec.stderr);
      assert.equal(exec.stdout.toString(), "b a r|/tmp|1000\n");
      assert.equal(exec.stderr, "err\n");
      assert.equal((await d.docker(["exec", "-i", name, "cat"], "to the exec\n")).stdout.toString(), "to the exec\n");
      // docker 20.10 sets no consoleSize for exec -t either: the size comes as a resize.
      await shellDialog(d.terminal(["exec", "-it", name, "sh"], { cols: 90, rows: 20 }), { rows: 20, cols: 90 }, 6);

      const status = async () =>
        (await d.docker(["inspect", "-f", "{{.State.Status}}", name])).stdout.toString().trim();
      assert.equal((await d.docker(["pause", name])).status, 0);
      assert.equal(await status(), "paused");
      assert.equal((await d.docker(["unpause", name])).status, 0);
      assert.equal(await status(), "running");

      // docker update sends the resources again: the same ones are fine, a VM of another size is not.
      const same = await d.docker(["update", "--restart", "on-failure", name]);
      assert.equal(same.status, 0, same.stderr);
      if (mode.name === "vm") {
        const bigger = await d.docker(["update", "--memory", "512m", "--memory-swap", "1g", name]);
        assert.notEqual(bigger.status, 0);
        assert.match(bigger.stderr, /they are set when it boots/);
      }

      const stop = await d.docker(["stop", "-t", "60", name]);
      assert.equal(stop.status, 0, stop.stderr);
      assert.equal((await d.docker(["wait", name])).stdout.toString().trim(), "7");
      await logsInclude(d.docker, name, "got-term");
      const logs = await d.docker(["logs", name]);
      assert.equal(logs.stdout.toString(), "started\ngot-term\n");
      // Nothing but the container's own: qemu's complaints (an exec's virtio-serial port unplugged
      // while the guest still used it) would land here.
      assert.equal(logs.stderr, "");
      assert.equal((await d.docker(["rm", name])).status, 0);

      assert.equal((await detached(killed, ["sleep", "600"])).status, 0);
      const kill = await d.docker(["kill", "-s", "KILL", killed]);
      assert.equal(kill.status, 0, kill.stderr);
      assert.equal((await d.docker(["wait", killed])).stdout.toString().trim(), "137");
      assert.equal((await d.docker(["rm", killed])).status, 0);

      assert.equal((await detached(killed, ["sleep", "600"])).status, 0);
      const rm = await d.docker(["rm", "-f", killed]);
      assert.equal(rm.status, 0, rm.stderr);
      assert.equal((await d.docker(["ps", "-aq", "--filter", `name=${killed}`])).stdout.toString(), "");
    } finally {
      await d.docker(["rm", "-f", name, killed]);
    }
    await nothingLeft(d, before);
  });
}

test("docker run --memory 256m --cpus 2 --runtime tsminc: the VM is sized from them", async (t) => {
  const d = ready(t);
  if (d === undefined) return;
  const r = await d.docker([
    ...["run", "--rm", "--runtime", "tsminc", "--network", "none", "--memory", "256m", "--cpus", "2"],
    ...[image, "sh", "-c", "nproc; grep MemTotal /proc/meminfo"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const [cpus, mem] = r.stdout.toString().split("\n");
  assert.equal(cpus, "2");
  const kib = Number(/(\d+) kB/.exec(mem ?? "")?.[1]);
  // 256 MiB for the container plus the VM's own 64 MiB, less what the kernel keeps for itself.
  assert.ok(kib > 256 * 1024 && kib <= 320 * 1024, `MemTotal ${kib} kB`);
});
