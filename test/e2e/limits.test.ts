// cgroup limits and the container's init, for real: a memory hog, a fork loop and a busy loop under
// --mem-limit, --pid-max and --cpu-limit on the host; qemu inside the run's cgroup with --qemu;
// the command as PID 1 with --no-init. This host's cgroup flavour decides v1 or v2; both must work.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { before, test } from "node:test";
import { breedAll } from "../helpers/cli.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";

let root = "";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
});

/** A run that must leave nothing behind, cgroups included. */
async function clean(args: readonly string[]) {
  const before = snapshot();
  const r = await tsminc(["-r", root, ...args]);
  assert.deepEqual(await leftoversAfter(before), []);
  return r;
}

test("--mem-limit 32M: a memory hog is OOM-killed, the status is 137", async () => {
  const r = await clean(["--mem-limit", "32M", "sh", "-c", "head -c 200m /dev/zero | tail >/dev/null"]);
  assert.equal(r.status, 137, r.stderr);
  const ok = await clean(["--mem-limit", "32M", "sh", "-c", "head -c 8m /dev/zero | tail | wc -c"]);
  assert.equal(ok.stdout.toString().trim(), String(8 * 2 ** 20));
});

test("--pid-max 20: a fork loop runs out of processes and ends; the host forks on", async () => {
  const run = tsminc(["-r", root, "--pid-max", "20", "sh", "-c", "while :; do sleep 30 & done"]);
  // The host is unaffected meanwhile: it can still start processes.
  assert.equal(execFileSync("sh", ["-c", "echo host"]).toString(), "host\n");
  const r = await run;
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /can't fork/);
  assert.ok(r.seconds < 30, `took ${r.seconds} s: the sleeps were not ended with the container`);
});

test("--cpu-limit 0.5: two seconds of busy loop get about one second of CPU", async () => {
  const r = await clean(["--cpu-limit", "0.5", "sh", "-c", "timeout 2 sh -c 'while :; do :; done'; times"]);
  assert.equal(r.status, 0, r.stderr);
  // `times`: the shell's user and system time, then its children's.
  const children = r.stdout.toString().split("\n")[1] ?? "";
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
  assert.ok(seconds > 0.6 && seconds < 1.4, `children used ${seconds} s of CPU: ${children}`);
});

test("--no-init: the command is PID 1 of its pid namespace; by default a small init is", async () => {
  assert.equal((await clean(["--no-init", "sh", "-c", "echo $$"])).stdout.toString(), "1\n");
  assert.notEqual((await clean(["sh", "-c", "echo $$"])).stdout.toString(), "1\n");
  const status = await clean(["--no-init", "sh", "-c", "exit 7"]);
  assert.equal(status.status, 7);
});

test("--qemu with limits: qemu itself runs in the run's cgroup, which is gone afterwards", async () => {
  const before = snapshot();
  const run = startTsminc([
    "--qemu",
    "-r",
    root,
    "--pid-max",
    "64",
    "--mem-limit",
    "512M",
    "sh",
    "-c",
    "echo up; sleep 2",
  ]);
  await run.outputIncludes("up");
  const qemu = readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("qemu-system-x86_64\0");
      } catch {
        return false;
      }
    });
  assert.ok(qemu !== undefined, "no qemu process");
  assert.match(readFileSync(`/proc/${qemu}/cgroup`, "utf8"), /pids:\/tsminc\/tsminc-|0::\/tsminc\/tsminc-/);
  assert.equal(await run.done, 0);
  assert.deepEqual(await leftoversAfter(before), []);
});

test("--timeout: a command that never ends is killed, 124 and one line, in both modes", async () => {
  for (const mode of [[], ["--qemu"]]) {
    const before = snapshot();
    const r = await tsminc([...mode, "-r", root, "--timeout", "2", "sleep", "100"]);
    assert.equal(r.status, 124, r.stderr);
    assert.match(r.stderr, /^tsminc: timed out after 2 s/m);
    assert.ok(r.seconds < 20);
    assert.deepEqual(await leftoversAfter(before), []);
  }
});
