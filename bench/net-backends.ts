// The candidates for ns mode's --network user, measured raw (no tsminc): slirp4netns (the one we
// use) and pasta, each serving a network namespace the bench makes; TCP from the namespace to a sink
// on the host's loopback, reached through each backend's host-loopback mapping.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { spawnRunner } from "../src/host/spawn-runner.js";
import { which } from "../src/host/which.js";
import { startSink } from "./tcp-sink.js";

interface Backend {
  readonly name: string;
  /** starts it on the namespace of `pid`; resolves once the namespace has its route out */
  readonly start: (pid: number) => Promise<ChildProcess>;
  /** undoes what start did besides the process */
  readonly stop?: (pid: number) => Promise<void>;
  /** the address in the namespace that leads to the host's loopback */
  readonly gateway: (pid: number) => Promise<string>;
}

const netnsName = (pid: number) => `tsminc-bench-${pid}`;

async function defaultGateway(pid: number): Promise<string | undefined> {
  const r = await spawnRunner.run("nsenter", ["-t", String(pid), "-n", "ip", "route", "show", "default"]);
  return /^default via (\S+)/.exec(r.stdout)?.[1];
}

const BACKENDS: readonly Backend[] = [
  {
    name: "slirp4netns (ours)",
    start: async (pid) => {
      const p = spawn("slirp4netns", ["--configure", "--mtu=65520", "--ready-fd=3", String(pid), "tap0"], {
        stdio: ["ignore", "ignore", "ignore", "pipe"],
      });
      await once(p.stdio[3] as Readable, "data");
      return p;
    },
    gateway: () => Promise.resolve("10.0.2.2"),
  },
  {
    name: "pasta",
    start: async (pid) => {
      // Bookworm's pasta cannot open /proc/PID/ns/* once it has isolated itself, but it can join a
      // named namespace: the holder's, attached as /run/netns/<name> (detached again by stop).
      await spawnRunner.run("ip", ["netns", "attach", netnsName(pid), String(pid)]);
      // Only what the run asks for: no port forwarded either way. --runas 0: as root, pasta would
      // otherwise become nobody.
      const p = spawn(
        "pasta",
        ["-f", "-q", "--runas", "0", "--config-net", "-t", "none", "-u", "none", "-T", "none", "-U", "none"].concat([
          "--netns",
          netnsName(pid),
        ]),
        { stdio: "ignore" },
      );
      // pasta has no readiness signal: the namespace's default route is its last step.
      for (let i = 0; (await defaultGateway(pid)) === undefined; i++) {
        if (i > 500) throw new Error("pasta configured no route in the namespace");
        await new Promise((r) => setTimeout(r, 10));
      }
      return p;
    },
    stop: async (pid) => {
      await spawnRunner.run("ip", ["netns", "delete", netnsName(pid)]);
    },
    gateway: async (pid) => (await defaultGateway(pid)) ?? "",
  },
];

/** 64 MiB from the namespace to the host's loopback, timed on the host from the first byte to the last. */
async function rate(busybox: string, backend: Backend): Promise<number> {
  const sink = await startSink();
  // unshare execs sh in the new namespace, so "in" comes from there.
  const holder = spawn("unshare", ["--net", "sh", "-c", "echo in; exec sleep 600"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  await once(holder.stdout, "data");
  const pid = holder.pid ?? 0;
  const helper = await backend.start(pid);
  try {
    const gw = await backend.gateway(pid);
    const cmd = `${busybox} dd if=/dev/zero bs=65536 count=1024 2>/dev/null | ${busybox} nc ${gw} ${sink.port}`;
    await spawnRunner.run("nsenter", ["-t", String(pid), "-n", "sh", "-c", cmd]);
  } finally {
    helper.kill("SIGKILL");
    await backend.stop?.(pid);
    holder.kill("SIGKILL");
    sink.close();
  }
  return sink.rate(64 * 2 ** 20);
}

/** One line per backend installed: the median MiB/s of `runs`, interleaved. */
export async function nsBackends(busybox: string, runs: number): Promise<string> {
  const present: Backend[] = [];
  const lines: string[] = [];
  for (const b of BACKENDS) {
    const tool = b.name.split(" ")[0] ?? "";
    if (which(tool) !== undefined) present.push(b);
    else
      lines.push(
        `ns backend ${b.name}: not measured, ${tool} is not installed (apt-get install ${tool === "pasta" ? "passt" : tool})`,
      );
  }
  const rates = new Map<string, number[]>(present.map((b) => [b.name, []]));
  for (let i = 0; i < runs; i++) for (const b of present) rates.get(b.name)?.push(await rate(busybox, b));
  for (const b of present) {
    const r = (rates.get(b.name) ?? []).sort((x, y) => x - y);
    const median = r[Math.floor(r.length / 2)] ?? 0;
    const range = `${(r[0] ?? 0).toFixed(0)}-${(r.at(-1) ?? 0).toFixed(0)}`;
    lines.push(
      `ns backend ${b.name}, raw: TCP namespace -> host ${median.toFixed(0)} MiB/s (median of ${runs}; ${range})`,
    );
  }
  return lines.join("\n") + "\n";
}
