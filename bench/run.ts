// npm run bench: every case N times, interleaved (A B C, B C A, ...) so machine drift cancels, then a
// table of median/min/max and each case's ratio to its floor, plus a JSON file of every sample.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { parseArgs } from "node:util";
import { ARCHES, type ArchName } from "../src/core/arch.js";
import { toRunConfig } from "../src/config/from-flags.js";
import { restoreArgs } from "../src/core/snapshot-plan.js";
import { CONTROL_PORT, planVm, type VmPlan } from "../src/core/vm-plan.js";
import { planQemu } from "../src/core/qemu-argv.js";
import { readManifest } from "../src/host/image-manifest.js";
import { cacheDir, defaultImagesDir, packageRoot } from "../src/host/paths.js";
import { listenControl, releaseLine, type ControlPort } from "../src/host/control-port.js";
import { listenPorts } from "../src/host/port-bridge.js";
import { hostTscKhz, probeHost } from "../src/host/probe.js";
import { spawnRunner } from "../src/host/spawn-runner.js";
import { fillVmTmpdir, makeTmpdir, removeTmpdir } from "../src/host/tmpdir.js";
import { which } from "../src/host/which.js";
import { busyboxRootfs, debianRootfs } from "../test/helpers/rootfs.js";
import { imageBench } from "./image-cases.js";
import { runtimeCases } from "./runtime-cases.js";
import { nsBackends } from "./net-backends.js";
import { startSink } from "./tcp-sink.js";
import { MEMORY_CASE, rssAfterFree } from "./memory-case.js";
import { fileCases } from "./file-cases.js";
import { defaultVmSize } from "../src/core/vm-size.js";
import { availableParallelism, totalmem } from "node:os";

interface Case {
  readonly name: string;
  /** the case this one is compared with (its ratio column) */
  readonly floor?: string;
  /** one run; resolves with the peak RSS of its largest process in KiB, when measured */
  readonly run: () => Promise<number | undefined>;
}

const TSMINC = join(packageRoot, "dist/bundle/tsminc.cjs");
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** Runs argv to completion (stdio closed); with GNU time, returns the largest process's peak RSS. */
async function timed(argv: readonly string[]): Promise<number | undefined> {
  const [file, ...args] = GNU_TIME ? [GNU_TIME, "-f", "%M", ...argv] : argv;
  const r = await spawnRunner.run(file ?? "", args);
  if (r.exitCode !== 0)
    throw new Error(`${argv.join(" ")} exited with ${r.exitCode}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
  return GNU_TIME ? Number(r.stderr.trim().split("\n").at(-1)) : undefined;
}

function image(arch: ArchName) {
  const dir = join(defaultImagesDir, arch);
  const m = readManifest(dir);
  if (m === undefined) throw new Error(`no ${arch} image in ${defaultImagesDir}: run tsermine breed --arch ${arch}`);
  return { kernel: join(dir, m.kernelImage), initrd: join(dir, m.initramfs), m };
}

function qemuCases(arch: ArchName, root: string): Case[] {
  const img = image(arch);
  const tscKhz = hostTscKhz();
  const base = {
    arch,
    accel: "tcg" as const,
    kernel: img.kernel,
    initrd: img.initrd,
    // The size a run gets without flags: the floors boot what the tsminc cases boot.
    ...defaultVmSize(arch, { cpus: availableParallelism(), memMiB: Math.floor(totalmem() / 2 ** 20) }),
    debug: false,
    console: "null" as const,
  };
  const floor = planQemu({ ...base, ...(tscKhz === undefined ? {} : { tscKhz }) });
  const kernelFloor = [floor.file, ...floor.args.map((a) => (a.startsWith("console=") ? `${a} ERMINE_POWEROFF=1` : a))];
  const config = toRunConfig({ qemu: true, rootdir: root, arch }, ["true"], "/");
  /**
   * tsminc's own plan for `true` run by hand, with the ports listened on as tsminc does: `argv` picks
   * the qemu argv from the plan, `greet` answers the guest's init on the control port.
   */
  const byHand = async (argv: (plan: VmPlan) => readonly string[], greet: (control: ControlPort) => void) => {
    const facts = { ...probeHost(config), stdinTty: false, stdoutTty: false };
    const dir = makeTmpdir(facts.runtimeDir);
    try {
      const plan = planVm(config, facts, dir);
      fillVmTmpdir(plan);
      const sink = new PassThrough().resume();
      const ports = await listenPorts(
        plan.sockets.filter((p) => p.name !== CONTROL_PORT),
        { stdin: new PassThrough().end(), stdout: sink, stderr: sink },
      );
      const control = await listenControl(join(dir, "ctl.sock"));
      greet(control);
      const rss = await timed([plan.file, ...argv(plan)]);
      control.close();
      ports.close();
      return rss;
    } finally {
      removeTmpdir(dir);
    }
  };
  const launcherFloor: Case = {
    name: `${arch}: launcher floor (tsminc's argv, by hand)`,
    floor: `${arch}: kernel floor`,
    // The guest's init waits for its release (warm start's protocol), which tsminc sends at "ready".
    run: () =>
      byHand(
        (plan) => plan.args,
        (control) =>
          void control.until("ready").then((ready) => {
            if (ready) control.release(releaseLine());
          }),
      ),
  };
  const cold: Case = {
    name: `${arch}: tsminc --qemu --no-snapshot -r busybox true (cold)`,
    floor: launcherFloor.name,
    run: () => timed([process.execPath, TSMINC, "--qemu", "--no-snapshot", "--arch", arch, "-r", root, "true"]),
  };
  // The warm run's own argv resuming its snapshot, by hand, told to power off instead of released.
  const restoreFloor: Case = {
    name: `${arch}: restore floor (resume, power off)`,
    run: () =>
      byHand(
        (plan) => {
          if (plan.snapshot === undefined) throw new Error("the plan has no snapshot");
          return restoreArgs(plan.args, plan.snapshot.state);
        },
        (control) =>
          void control.connected.then(() => {
            control.release("halt\n");
          }),
      ),
  };
  return [
    { name: `${arch}: kernel floor`, run: () => timed(kernelFloor) },
    launcherFloor,
    cold,
    restoreFloor,
    {
      name: `${arch}: tsminc --qemu -r busybox true (warm)`,
      floor: cold.name,
      run: () => timed([process.execPath, TSMINC, "--qemu", "--arch", arch, "-r", root, "true"]),
    },
    // The size before the defaults came from the host: what the bigger default costs a run.
    {
      name: SMALL(arch),
      run: () =>
        timed([process.execPath, TSMINC, "--qemu", "--mem", "128M", "--cpus", "1", "--arch", arch, "-r", root, "true"]),
    },
    ...(arch === "x86_64"
      ? [
          {
            name: "x86_64: tsminc --qemu --privileged -r busybox true",
            floor: cold.name,
            run: () => timed([process.execPath, TSMINC, "--qemu", "--privileged", "-r", root, "true"]),
          },
          // The root disk (--root-disk) next to the 9p root: what the disks cost a run that reads little.
          {
            name: ROOT_DISK,
            run: () => timed([process.execPath, TSMINC, "--qemu", "--root-disk", "-r", root, "true"]),
          },
          // The network: --network user (the default: a NIC bridged to slirp4netns) against none.
          {
            name: "x86_64: tsminc --qemu --network none -r busybox true",
            floor: cold.name,
            run: () => timed([process.execPath, TSMINC, "--qemu", "--network", "none", "-r", root, "true"]),
          },
        ]
      : []),
  ];
}

/** MINCS's moult: -M pc with SeaBIOS, 2 GB, every CPU, -virtfs (PCI, default msize), virtio-rng, its command line. */
function mincsQemu(img: ReturnType<typeof image>, share: string): string[] {
  return [
    "qemu-system-x86_64",
    "-M",
    "pc",
    "-accel",
    "tcg",
    "-m",
    "2G",
    "-smp",
    String(cpus().length),
    "-nographic",
    "-serial",
    "null",
    "-monitor",
    "none",
    "-no-reboot",
    "-kernel",
    img.kernel,
    "-initrd",
    img.initrd,
    "-append",
    "ro quiet console=ttyS0 panic=-1 ERMINE_MSIZE=default",
    "-device",
    "virtio-rng-pci",
    "-virtfs",
    `local,id=minc,path=${share},security_model=none,mount_tag=minc,multidevs=remap`,
  ];
}

/**
 * The same guest work as the launcher floor (the container entry for `true` on the overlaid busybox
 * root, prepared by the same chain) under MINCS's qemu configuration instead of ours. Its run.sh
 * talks on the console, as MINCS's does.
 */
function mincsStyle(root: string): Case {
  const img = image("x86_64");
  const config = toRunConfig({ qemu: true, rootdir: root, arch: "x86_64" }, ["true"], "/");
  return {
    name: "x86_64: MINCS-style qemu (pc, SeaBIOS, 2G, 9p defaults)",
    floor: "x86_64: launcher floor (tsminc's argv, by hand)",
    run: async () => {
      const facts = { ...probeHost(config), stdinTty: true, stdoutTty: true, ttySize: { rows: 24, cols: 80 } };
      const dir = makeTmpdir(facts.runtimeDir);
      try {
        const plan = planVm(config, facts, dir);
        fillVmTmpdir(plan);
        const prepare = plan.args.slice(0, plan.args.indexOf(plan.qemu.file));
        return await timed([plan.file, ...prepare, ...mincsQemu(img, dir)]);
      } finally {
        removeTmpdir(dir);
      }
    },
  };
}

/** A bundle made by `runc spec`, pointed at the rootfs (read-only) and running `true` without a terminal. */
function runcBundle(root: string): string {
  const bundle = mkdtempSync(join(tmpdir(), "tsminc-bench-runc-"));
  execFileSync("runc", ["spec"], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
    root: { path: string; readonly: boolean };
    process: { args: string[]; terminal: boolean };
  };
  spec.root = { path: root, readonly: true };
  spec.process.args = ["true"];
  spec.process.terminal = false;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  process.on("exit", () => {
    rmSync(bundle, { recursive: true, force: true });
  });
  return bundle;
}

function hostCases(root: string): Case[] {
  const cases: Case[] = [
    { name: "ns: node -e 0", run: () => timed([process.execPath, "-e", "0"]) },
    { name: "ns: unshare -fpimu chroot R true", run: () => timed(["unshare", "-fpimu", "chroot", root, "true"]) },
    {
      name: "ns: tsminc -r R true",
      floor: "ns: node -e 0",
      run: () => timed([process.execPath, TSMINC, "-r", root, "true"]),
    },
    // The same without confinement (MINCS's way): what the default confinement costs.
    {
      name: "ns: tsminc --privileged -r R true",
      floor: "ns: node -e 0",
      run: () => timed([process.execPath, TSMINC, "--privileged", "-r", root, "true"]),
    },
  ];
  if (which("bwrap"))
    cases.push({
      name: "ns: bwrap",
      run: () => timed(["bwrap", "--bind", root, "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all", "true"]),
    });
  else process.stderr.write("bench: no bwrap case: bwrap is not installed (apt-get install bubblewrap)\n");
  if (which("runc")) {
    const bundle = runcBundle(root);
    let n = 0;
    cases.push({
      name: "ns: runc (runc spec bundle)",
      run: () => timed(["runc", "run", "--bundle", bundle, `bench-${process.pid}-${n++}`]),
    });
  } else process.stderr.write("bench: no runc case: runc is not installed (apt-get install runc)\n");
  return cases;
}

/**
 * TCP from the container to a server on the host's loopback, through each mode's NAT (slirp4netns;
 * in a VM, bridged to its NIC): 64 MiB from /dev/zero, timed on the host from the first byte to the last.
 */
async function networkThroughput(root: string, runs: number): Promise<string> {
  const lines: string[] = [];
  for (const [label, mode] of [
    ["vm (slirp4netns, bridged to virtio-net)", ["--qemu"]],
    ["ns (slirp4netns)", []],
  ] as const) {
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sink = await startSink();
      const cmd = `dd if=/dev/zero bs=65536 count=1024 2>/dev/null | nc 10.0.2.2 ${sink.port}`;
      await timed([
        process.execPath,
        TSMINC,
        ...mode,
        "--network",
        "user",
        "--add-host",
        "h:host-gateway",
        "-r",
        root,
        "sh",
        "-c",
        cmd,
      ]);
      sink.close();
      rates.push(sink.rate(64 * 2 ** 20));
    }
    lines.push(`TCP container -> host, ${label}: ${median(rates).toFixed(0)} MiB/s (median of ${runs})`);
  }
  return lines.join("\n") + "\n";
}

/**
 * 9p throughput inside the guest: 64 MiB written under the container root (the overlay on the host,
 * through 9p) and read back, timed by the guest's clock, at the kernel's default msize and at ours.
 */
async function throughput(root: string, runs: number): Promise<string> {
  const script = [
    "read -r a _ </proc/uptime",
    "dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null",
    "read -r b _ </proc/uptime",
    "dd if=/big of=/dev/null bs=1M 2>/dev/null",
    "read -r c _ </proc/uptime",
    'echo "$a $b $c"',
  ].join("; ");
  const lines: string[] = [];
  for (const [label, append] of [
    ["kernel default msize (128 KiB)", ["--append", "ERMINE_MSIZE=default"]],
    ["ours (512 KiB)", []],
  ] as const) {
    const write: number[] = [];
    const read: number[] = [];
    for (let i = 0; i < runs; i++) {
      const argv = [TSMINC, "--qemu", "--mem", "256M", ...append, "-r", root, "sh", "-c", script];
      const r = await spawnRunner.run(process.execPath, argv);
      const [a, b, c] = r.stdout.trim().split(" ").map(Number);
      if (r.exitCode !== 0 || a === undefined || b === undefined || c === undefined)
        throw new Error(`9p throughput run failed (${r.exitCode}): ${r.stderr.trim()}`);
      write.push(64 / (b - a));
      read.push(64 / (c - b));
    }
    lines.push(
      `9p throughput, ${label}: write ${median(write).toFixed(0)} MiB/s, read ${median(read).toFixed(0)} MiB/s (median of ${runs})`,
    );
  }
  return lines.join("\n") + "\n";
}

function summarize(samples: Map<string, number[]>, cases: readonly Case[]): string {
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor((s.length - 1) / 2)] ?? NaN, min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
  };
  const rows = cases.map((c) => {
    const s = stat(samples.get(c.name) ?? []);
    const floor = c.floor === undefined ? undefined : stat(samples.get(c.floor) ?? []).median;
    const ratio = floor === undefined ? "" : `${(s.median / floor).toFixed(2)} x`;
    return [c.name, s.median.toFixed(3), s.min.toFixed(3), s.max.toFixed(3), ratio];
  });
  const head = ["case", "median s", "min s", "max s", "vs floor"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

const median = (xs: readonly number[] | undefined) => {
  const s = [...(xs ?? [])].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};

const WARM = (arch: ArchName) => `${arch}: tsminc --qemu -r busybox true (warm)`;
const ROOT_DISK = "x86_64: tsminc --qemu --root-disk -r busybox true (warm)";
const SMALL = (arch: ArchName) => `${arch}: tsminc --qemu --mem 128M --cpus 1 -r busybox true (warm)`;
const COLD = (arch: ArchName) => `${arch}: tsminc --qemu --no-snapshot -r busybox true (cold)`;

/** The issues' targets, computed from this run's medians (and peak RSS, in KiB). */
function targets(
  samples: ReadonlyMap<string, number[]>,
  rss: ReadonlyMap<string, number[]>,
  arches: readonly ArchName[],
): string {
  const m = (name: string) => median(samples.get(name));
  const qemu = m(COLD("x86_64"));
  const checks: [string, number, string, boolean][] = [
    ...arches.map((a): [string, number, string, boolean] => [
      `${a}: tsminc --qemu --no-snapshot / launcher floor`,
      m(COLD(a)) / m(`${a}: launcher floor (tsminc's argv, by hand)`),
      "<= 1.15",
      false,
    ]),
    ["x86_64: warm / cold", m(WARM("x86_64")) / qemu, "<= 0.45", false],
    ...arches.map((a): [string, number, string, boolean] => [
      `${a}: warm / restore floor`,
      m(WARM(a)) / m(`${a}: restore floor (resume, power off)`),
      "<= 1.60",
      false,
    ]),
    ...arches.map((a): [string, number, string, boolean] => [
      `${a}: peak RSS of a warm run, MiB`,
      Math.max(...(rss.get(WARM(a)) ?? [Number.NaN])) / 1024,
      "<= 90",
      false,
    ]),
    ...arches.map((a): [string, number, string, boolean] => [
      `${a}: warm at the default size / at --mem 128M --cpus 1`,
      m(WARM(a)) / m(SMALL(a)),
      "<= 1.05",
      false,
    ]),
    ["x86_64: warm with --root-disk / warm with the root over 9p", m(ROOT_DISK) / m(WARM("x86_64")), "<= 1.05", false],
    [
      "x86_64: qemu RSS after freeing 1 GiB - peak RSS of a warm true, MiB",
      (median(rss.get(MEMORY_CASE)) - median(rss.get(WARM("x86_64")))) / 1024,
      "<= 64",
      false,
    ],
    [
      "MINCS-style / tsminc --qemu (cold)",
      m("x86_64: MINCS-style qemu (pc, SeaBIOS, 2G, 9p defaults)") / qemu,
      ">= 1.50",
      true,
    ],
    [
      "tsminc ns / (node -e 0 + unshare chroot)",
      m("ns: tsminc -r R true") / (m("ns: node -e 0") + m("ns: unshare -fpimu chroot R true")),
      "<= 1.30",
      false,
    ],
  ];
  const cost = (confined: string, open: string) => ((m(confined) - m(open)) * 1000).toFixed(1);
  const confinement =
    `confinement costs: ns ${cost("ns: tsminc -r R true", "ns: tsminc --privileged -r R true")} ms, ` +
    `vm ${cost(WARM("x86_64"), "x86_64: tsminc --qemu --privileged -r busybox true")} ms ` +
    "(median confined - median --privileged, both warm)\n" +
    `--network user costs a vm run ${cost(WARM("x86_64"), "x86_64: tsminc --qemu --network none -r busybox true")} ms ` +
    `(${((m(WARM("x86_64")) / m("x86_64: tsminc --qemu --network none -r busybox true") - 1) * 100).toFixed(1)} %; goal < 10 %)\n`;
  return (
    confinement +
    checks
      .filter(([, ratio]) => !Number.isNaN(ratio))
      .map(([name, ratio, goal, atLeast]) => {
        const met = atLeast ? ratio >= Number(goal.slice(3)) : ratio <= Number(goal.slice(3));
        return `target ${name}: ${ratio.toFixed(2)} (goal ${goal}) ${met ? "met" : "NOT met"}`;
      })
      .join("\n") +
    "\n"
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "7" },
      arch: { type: "string" },
      out: { type: "string", default: "bench-results.json" },
    },
  });
  const runs = Number(values.runs);
  const arches: ArchName[] = values.arch ? [values.arch as ArchName] : ["x86_64", "arm64", "arm"];
  const roots = Object.fromEntries(arches.map((a) => [a, busyboxRootfs(a)])) as Record<ArchName, string>;
  const x86 = arches.includes("x86_64") ? roots.x86_64 : busyboxRootfs("x86_64");
  const images = arches.includes("x86_64") ? await imageBench() : undefined;
  const cases = [
    ...arches.flatMap((a) => qemuCases(a, roots[a])),
    ...(arches.includes("x86_64") ? [mincsStyle(x86), ...hostCases(x86)] : []),
    // Its "RSS" is qemu's resident memory after the free, not a peak.
    ...(arches.includes("x86_64") ? [{ name: MEMORY_CASE, run: () => rssAfterFree(x86) }] : []),
    ...(arches.includes("x86_64") ? await runtimeCases() : []).map((c): Case => ({
      name: c.name,
      ...(c.floor === undefined ? {} : { floor: c.floor }),
      run: () => timed(c.argv),
    })),
    ...(images?.cases ?? []).map((c): Case => ({
      name: c.name,
      ...(c.floor === undefined ? {} : { floor: c.floor }),
      run: () => timed(c.argv),
    })),
  ];
  // Every case once before the first round, untimed: each snapshot exists (the restore floor resumes
  // the default size's; every "warm" case, each with a key of its own, resumes from its first sample)
  // and the files every case reads are in the page cache.
  for (const c of cases) await c.run();
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const rss = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) {
    // Each round starts one case later: a case that always followed the same one would carry that
    // one's after-effects (a VM still being torn down) in every sample.
    const round = [...cases.slice(i % cases.length), ...cases.slice(0, i % cases.length)];
    for (const c of round) {
      const started = performance.now();
      const peak = await c.run();
      samples.get(c.name)?.push((performance.now() - started) / 1000);
      if (peak !== undefined) rss.get(c.name)?.push(peak);
    }
    process.stderr.write(`bench: round ${i + 1} of ${runs} done\n`);
  }
  process.stdout.write(summarize(samples, cases));
  process.stdout.write(targets(samples, rss, arches));
  if (images !== undefined) {
    process.stdout.write(images.summary((name) => median(samples.get(name))));
    await images.stop();
  }
  if (arches.includes("x86_64")) process.stdout.write(await throughput(x86, Math.min(runs, 3)));
  // File-heavy work on the Debian roots: x86_64 in rounds, arm64 once.
  for (const [arch, rounds] of [
    ["x86_64", Math.min(runs, 3)],
    ["arm64", 1],
  ] as const) {
    if (!arches.includes(arch)) continue;
    const debian = await debianRootfs(arch);
    if ("dir" in debian) process.stdout.write(await fileCases(arch, debian.dir, rounds));
    else process.stderr.write(`bench: no ${arch} file cases: ${debian.missing}\n`);
  }
  if (arches.includes("x86_64")) {
    process.stdout.write(await networkThroughput(x86, Math.min(runs, 3)));
    process.stdout.write(await nsBackends(join(defaultImagesDir, "x86_64", "busybox"), Math.min(runs, 3)));
  }
  if (GNU_TIME) {
    for (const c of cases) process.stdout.write(`peak RSS ${c.name}: ${Math.max(...(rss.get(c.name) ?? [0]))} KiB\n`);
  } else process.stderr.write("bench: no peak RSS: GNU time is not installed (apt-get install time)\n");
  for (const arch of arches) {
    const { m } = image(arch);
    const size = (m.outputs[ARCHES[arch].kernelImage]?.size ?? 0) + (m.outputs["initramfs.cpio.gz"]?.size ?? 0);
    process.stdout.write(`image ${arch}: ${(size / 1048576).toFixed(2)} MiB (kernel + initramfs)\n`);
  }
  writeFileSync(
    values.out,
    JSON.stringify(
      { runs, cache: cacheDir(), samples: Object.fromEntries(samples), rssKiB: Object.fromEntries(rss) },
      null,
      2,
    ) + "\n",
  );
  process.stderr.write(`bench: samples in ${values.out}\n`);
}

await main();
