// docker for the OCI runtime tests: Debian's docker.io (dockerd 20.10), one daemon per test file
// with a containerd of its own (dockerd would take a system one on /run/containerd, and the one it
// starts itself makes /opt/containerd), both on paths of their own (data roots, exec root, sockets,
// pidfile, configs, cgroup parent), without iptables, a bridge or IP forwarding, with cgroupfs. It
// knows tsminc-runtime twice: `tsminc` (--add-runtime: vm mode) and `tsminc-ns` (daemon.json
// runtimeArgs --mode=ns: docker 20.10 has no --annotation). stop() removes everything they made.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { which } from "../../src/host/which.js";
import { runEngine, type EngineResult } from "./engine.js";
import { archiveOf, imageLayout } from "./oci-fixtures.js";
import { processesNaming } from "./processes.js";
import { ptySession, type Session } from "./tsminc.js";

export interface Dockerd {
  /** tsminc-runtime's state root under this daemon: containerd's runc shim passes --root DIR/moby */
  readonly stateRoot: string;
  /** runs this daemon's client; never throws for a failed docker */
  readonly docker: (args: readonly string[], input?: string | Buffer) => Promise<EngineResult>;
  /** the client on a new pseudo-terminal of this size (run -it), driven like a user */
  readonly terminal: (args: readonly string[], size: { cols: number; rows: number }) => Session;
  /** stops the daemon and removes what it made; throws naming what it could not */
  readonly stop: () => Promise<void>;
}

/** The client of Debian's package (/usr/local/bin may hold a newer one, for another daemon). */
const client = (): string | undefined => which("docker", "/usr/bin:/bin") ?? which("docker");
const SBIN = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
const tool = (name: string) => which(name) ?? which(name, SBIN);

/** What this host lacks for the docker tests (to print when they skip), or undefined. */
export function dockerMissing(): string | undefined {
  const missing = ["dockerd", "containerd", "containerd-shim-runc-v2", "runc", "skopeo"].filter(
    (name) => tool(name) === undefined,
  );
  if (client() === undefined) missing.unshift("docker");
  if (missing.length > 0)
    return `${missing.join(", ")} not installed (apt-get install --no-install-recommends docker.io skopeo; see scripts/install-deps.sh)`;
  if (process.getuid?.() !== 0) return "the docker tests run dockerd: run them as root";
  return undefined;
}

/** Resolves once the daemon logs `ready`; rejects with its log if it ends first or takes a minute. */
async function listening(daemon: ChildProcess, ready: string, log: string[]): Promise<void> {
  const name = daemon.spawnfile;
  const stderr = daemon.stderr;
  if (stderr === null) throw new Error(`${name} has no stderr`);
  const lines = createInterface({ input: stderr });
  let done = false;
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${name} ${why}:\n${log.join("\n")}`));
    };
    const timer = setTimeout(() => {
      fail("was not ready within a minute");
    }, 60_000);
    lines.on("line", (line) => {
      log.push(line);
      if (log.length > 200) log.shift();
      if (!done && line.includes(ready)) {
        done = true;
        clearTimeout(timer);
        resolve();
      }
    });
    daemon.once("exit", (code, signal) => {
      fail(`ended (${String(code ?? signal)})`);
    });
  });
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** The cgroup folder `name` in every hierarchy, with what runc made below it, children first. */
function removeCgroups(name: string): string[] {
  const left: string[] = [];
  const roots = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(" ")[4] ?? "");
  const remove = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      left.push(`cgroup ${dir}`);
    }
  };
  for (const root of new Set(roots)) if (existsSync(join(root, name))) remove(join(root, name));
  return left;
}

/** Removes `dir` if this daemon made it (it was not there before) and it is empty now. */
function removeIfOurs(dir: string, existed: boolean): void {
  if (existed) return;
  try {
    rmdirSync(dir);
  } catch {
    // not empty: someone else's now
  }
}

async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  for (;;) {
    const alive = pids.filter((p) => {
      try {
        return !readFileSync(`/proc/${p}/stat`, "utf8").includes(") Z ");
      } catch {
        return false;
      }
    });
    if (alive.length === 0 || Date.now() > until) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A daemon started here: its stderr's last lines, and a stop that waits for it to end. */
interface Daemon {
  readonly log: string[];
  stop(): Promise<void>;
}

/** Starts `program` and resolves once it logs `ready` (on a failure it is stopped and the error thrown). */
async function startDaemon(program: string, args: readonly string[], ready: string): Promise<Daemon> {
  const child = spawn(tool(program) ?? program, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = once(child, "exit");
  const log: string[] = [];
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await listening(child, ready, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { log, stop };
}

/**
 * Starts containerd and dockerd with tsminc-runtime (`runtime`, a path) as the runtimes `tsminc`
 * and `tsminc-ns`, and resolves once docker's API listens.
 */
export async function startDockerd(runtime: string): Promise<Dockerd> {
  const docker = client() ?? "docker";
  const dir = mkdtempSync(join(tmpdir(), "tsminc-docker-"));
  const cgroupParent = basename(dir);
  // dockerd makes /run/docker/plugins, the shims /run/containerd/s: fixed places.
  const existed = Object.fromEntries(
    ["/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd"].map((d) => [d, existsSync(d)]),
  );
  const containerdSocket = join(dir, "containerd", "containerd.sock");
  writeFileSync(
    join(dir, "containerd.toml"),
    [
      "version = 2",
      `root = "${join(dir, "containerd", "root")}"`,
      `state = "${join(dir, "containerd", "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${containerdSocket}"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, "containerd", "opt")}"`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "daemon.json"),
    JSON.stringify({
      // else /etc/docker/key.json
      "deprecated-key-path": join(dir, "key.json"),
      runtimes: { "tsminc-ns": { path: runtime, runtimeArgs: ["--mode=ns"] } },
    }),
  );
  const socket = join(dir, "docker.sock");
  const dockerdArgs = [
    ...["--config-file", join(dir, "daemon.json"), "--containerd", containerdSocket],
    ...["--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "dockerd.pid")],
    ...["-H", `unix://${socket}`, "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"],
    ...["--bridge=none", "--userland-proxy=false", "--exec-opt", "native.cgroupdriver=cgroupfs"],
    ...["--cgroup-parent", cgroupParent, "--add-runtime", `tsminc=${runtime}`],
  ];
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, "client") };
  const run = (a: readonly string[], input?: string | Buffer) => runEngine(docker, a, { input, env });
  const daemons: Daemon[] = [];

  const stop = async () => {
    const left: string[] = [];
    if (daemons.length === 2) {
      const ids = (await run(["ps", "-aq"])).stdout.toString().split("\n").filter(Boolean);
      if (ids.length > 0) await run(["rm", "-f", ...ids]);
    }
    // dockerd first, then its containerd.
    for (const d of daemons.reverse()) await d.stop();
    // What outlived them (a shim, a monitor: their command lines name the folder) goes now.
    const stray = processesNaming(dir);
    for (const pid of stray) process.kill(pid, "SIGKILL");
    left.push(...(await waitGone(stray, 10_000)).map((p) => `process ${p}`));
    for (const m of mountsUnder(dir)) spawnSync("umount", ["-l", m]);
    const mounted = mountsUnder(dir);
    left.push(...mounted.map((m) => `mount ${m}`));
    // Never through a mount into someone else's files.
    if (mounted.length === 0) rmSync(dir, { recursive: true, force: true });
    left.push(...removeCgroups(cgroupParent));
    for (const [d, was] of Object.entries(existed)) removeIfOurs(d, was);
    if (left.length > 0)
      throw new Error(`docker left behind:\n${left.join("\n")}\n${daemons.flatMap((d) => d.log).join("\n")}`);
  };

  try {
    const config = ["--config", join(dir, "containerd.toml")];
    daemons.push(await startDaemon("containerd", config, "containerd successfully booted"));
    daemons.push(await startDaemon("dockerd", dockerdArgs, "API listen on"));
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return {
    stateRoot: join(dir, "exec", "runtime-runc", "moby"),
    docker: run,
    terminal: (a, size) =>
      ptySession(docker, a, size, { DOCKER_HOST: env.DOCKER_HOST, DOCKER_CONFIG: env.DOCKER_CONFIG }),
    stop,
  };
}

/** The busybox test image (oci-fixtures' two-layer image of x86_64) loaded with `docker load`; its name. */
export async function dockerImage(d: Dockerd): Promise<string> {
  const layout = await imageLayout("x86_64");
  const name = "tsminc-test-busybox";
  const work = mkdtempSync(join(tmpdir(), "tsminc-docker-load-"));
  try {
    const tarball = await archiveOf(layout.dir, layout.tag, "docker-archive", join(work, "busybox.tar"), { name });
    const r = await d.docker(["load", "-q", "-i", tarball]);
    if (r.status !== 0) throw new Error(`docker load -i ${tarball} failed: ${r.stderr}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return `${name}:${layout.tag}`;
}
