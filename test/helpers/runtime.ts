// tsminc-runtime driven as an engine drives it, for its tests: bundles of the busybox root, the CLI
// with a state root of the test's own, and create with pipes of ours as the container's stdio.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { archOfNode } from "../../src/core/arch.js";
import { packageRoot } from "../../src/host/paths.js";
import { busyboxRootfs } from "./rootfs.js";

export const RUNTIME = join(packageRoot, "dist/src/cli/tsminc-runtime.js");

export const RUNTIME_MODES = [
  { name: "vm", annotations: {} },
  { name: "ns", annotations: { "run.tsminc.mode": "ns" } },
] as const;

export async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The runtime with the state root `root`, bundles made in `work`. */
export function runtimeHarness(work: string, root: string) {
  /** A bundle: a copy of the busybox root (the runtime writes into it, as runc does) and a config.json. */
  const bundle = (name: string, args: string[], extra: Record<string, unknown> = {}): string => {
    const dir = join(work, name);
    mkdirSync(dir);
    spawnSync("cp", ["-a", busyboxRootfs(archOfNode(process.arch) ?? "x86_64"), join(dir, "rootfs")], {
      stdio: "inherit",
    });
    const spec = {
      ociVersion: "1.0.2",
      process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ["PATH=/usr/bin:/bin", "FOO=b a r"], cwd: "/" },
      root: { path: "rootfs" },
      hostname: "box",
      mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
      ...extra,
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
    return dir;
  };

  const rt = (args: readonly string[], input?: string): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(RUNTIME, ["--root", root, ...args], {
      ...(input === undefined ? {} : { input: Buffer.from(input) }),
    });
    return { status: r.status ?? 255, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };

  const status = (id: string) => (JSON.parse(rt(["state", id]).stdout) as { status: string; pid: number }).status;

  /** Runs create with pipes of ours as the container's stdio (as conmon does); collects what comes out. */
  const createWithPipes = (args: readonly string[]) => {
    const child = spawn(RUNTIME, ["--root", root, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = Buffer.alloc(0);
    let err = Buffer.alloc(0);
    child.stdout.on("data", (d: Buffer) => (out = Buffer.concat([out, d])));
    child.stderr.on("data", (d: Buffer) => (err = Buffer.concat([err, d])));
    // The pipes close when the last holder (the monitor, after the container) lets go of them.
    const closed = Promise.all([
      new Promise((r) => child.stdout.on("close", r)),
      new Promise((r) => child.stderr.on("close", r)),
    ]);
    const created = new Promise<number>((r) =>
      child.on("exit", (code) => {
        r(code ?? 255);
      }),
    );
    return { child, created, closed, out: () => out, err: () => err.toString(), errBytes: () => err };
  };

  /** create and start a container running `args`; resolves once it runs. */
  const started = async (id: string, args: string[], annotations: Record<string, string> = {}) => {
    const c = createWithPipes(["create", "--bundle", bundle(id, args, { annotations }), id]);
    c.child.stdin.end();
    assert.equal(await c.created, 0, c.err());
    assert.equal(rt(["start", id]).status, 0);
    return c;
  };

  return { bundle, rt, status, createWithPipes, started };
}
