#!/usr/bin/env node
// tsminc: runs a command in a container, here inside an ermine micro-VM (--qemu). The only place
// its exit status is chosen: the command's own, or 125 when tsminc itself failed.
import { Command, CommanderError } from "commander";
import { toRunConfig, type RawRunOptions, type RunConfig } from "../config/run-config.js";
import { EXIT } from "../core/exit-status.js";
import { describePlan } from "../core/describe-plan.js";
import { planHost } from "../core/host-plan.js";
import { planLaunch, type HostFacts } from "../core/launch-plan.js";
import { shellJoin } from "../core/shell-quote.js";
import { probeHost, runtimeDir } from "../host/probe.js";
import { rawArgvTail } from "../host/raw-argv.js";
import { spawnRunner } from "../host/spawn-runner.js";
import type { PtySpawner } from "../host/pty.js";
import { makeTmpdir } from "../host/tmpdir.js";
import { ESCAPE_HELP } from "../host/console-bridge.js";
import { formatError } from "./report.js";

/** Pipe mode never opens a pseudo-terminal: node-pty is not even loaded then. */
const noPty: PtySpawner = {
  spawn: () => {
    throw new Error("no pseudo-terminal in pipe mode");
  },
};

const collect = (value: string, previous: string[]) => [...previous, value];

function program(run: (raw: RawRunOptions, command: string[]) => Promise<void>): Command {
  return new Command("tsminc")
    .description(
      `Run a command in a container; with --qemu, inside its own ermine micro-VM. In a terminal, ${ESCAPE_HELP} kills the VM.`,
    )
    .usage("[options] [--] [command [args...]]\n       tsminc gc   (clean up after killed runs)")
    .argument("[command...]", "the command and its arguments (default: the rootfs's /bin/sh)")
    .option("-r, --rootdir <dir>", "the container's root filesystem (default: /)")
    .option("-k, --keep", "keep the container's tmpdir (its writes) and print how to reuse it")
    .option("-t, --tempdir <dir>", "reuse a tmpdir kept with -k (implies -k)")
    .option("-D, --direct", "no overlay: the container writes into the rootfs")
    .option("-b, --bind <host[:path]>", "bind a host file or folder into the container (repeatable)", collect, [])
    .option("--name <name>", "the container's hostname")
    .option("--user <uid[:gid]>", "run the command with these numeric ids")
    .option("--nocaps <caps>", "capabilities to drop, e.g. cap_sys_admin,cap_net_raw")
    .option("--usedev", "devtmpfs as /dev instead of a minimal /dev")
    .option("-n, --net", "a network namespace of its own, with only the loopback up")
    .option("--nopriv <dir>", "run as yourself, not root: DIR is the rootfs, left untouched (a user namespace)")
    .option("--pivot", "accepted for MINCS compatibility: ermine always uses pivot_root")
    .option("--qemu", "run the container inside an ermine micro-VM (default: namespaces on the host)")
    .option("--arch <arch>", "the VM's architecture: x86_64, arm64, arm (default: the host's)")
    .option("--cpus <n>", "virtual CPUs of the VM", "1")
    .option("--mem <size>", "memory of the VM, e.g. 128M, 1G", "128M")
    .option("--accel <accel>", "auto (KVM when usable), kvm or tcg", "auto")
    .option("--ermine <dir>", "image folder (default: the package's images/, then ~/.local/share/tsminc/images)")
    .option(
      "--no-init",
      "run the command as the container's PID 1, with no init (signals it does not handle are ignored)",
    )
    .option("--timeout <seconds>", "kill the container after this long; tsminc then exits 124")
    .option("--mem-limit <size>", "cgroup memory limit: the container's (host mode) or qemu's (--qemu), e.g. 64M")
    .option("--cpu-limit <cpus>", "cgroup CPU limit in CPUs, e.g. 0.5")
    .option("--pid-max <n>", "cgroup limit on processes, e.g. 100")
    .option("--append <words>", "more words for the VM kernel's command line (--qemu)")
    .option("--dry-run", "print the plan, with the qemu argv, and start nothing")
    .option("--debug", "show the kernel and init messages")
    .enablePositionalOptions()
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .action(async (command: string[], raw: RawRunOptions) => {
      await run(raw, command);
    });
}

async function run(raw: RawRunOptions, command: string[]): Promise<void> {
  const config = toRunConfig(raw, command, process.cwd(), rawArgvTail(command.length));
  const facts = probeHost(config);
  if (!config.qemu) {
    await runOnHost(config, facts);
    return;
  }
  // Plan first with a placeholder: bad input fails here, before anything is made on the host.
  const draft = planLaunch(config, facts, config.tempdir ?? `${facts.runtimeDir}/tsminc-RANDOM`);
  if (config.dryRun) {
    process.stdout.write(describePlan(config, draft));
    return;
  }
  for (const notice of draft.notices) process.stderr.write(`tsminc: ${notice}\n`);
  const tmpdir = config.tempdir ?? (await makeTmpdir(facts.runtimeDir));
  const plan = planLaunch(config, facts, tmpdir);
  const { launchQemu } = await import("../host/launch.js");
  process.exitCode = await launchQemu(plan, config.rootdir, {
    runner: spawnRunner,
    pty: plan.stdio === "tty" ? (await import("../host/pty.js")).nodePtySpawner : noPty,
    stdio: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    say: (line) => process.stderr.write(`${line}\n`),
  });
}

async function runOnHost(config: RunConfig, facts: HostFacts): Promise<void> {
  const draft = planHost(config, facts, config.tempdir ?? `${facts.runtimeDir}/tsminc-RANDOM`);
  if (config.dryRun) {
    process.stdout.write(`tsminc: dry run, nothing was started\nargv:\n  ${shellJoin([draft.file, ...draft.args])}\n`);
    return;
  }
  for (const notice of draft.notices) process.stderr.write(`tsminc: ${notice}\n`);
  const tmpdir = config.tempdir ?? (await makeTmpdir(facts.runtimeDir));
  // Loaded only now: start-up time counts, and each mode needs its own code only.
  const { launchHost } = await import("../host/launch-host.js");
  process.exitCode = await launchHost(planHost(config, facts, tmpdir), config.rootdir, {
    runner: spawnRunner,
    say: (line) => process.stderr.write(`${line}\n`),
  });
}

/** tsminc gc: what killed runs left behind. (A container command named gc: tsminc -- gc.) */
async function gc(): Promise<void> {
  const [{ collectGarbage }, { probeCgroups }] = await Promise.all([
    import("../host/gc.js"),
    import("../host/cgroup.js"),
  ]);
  const done = await collectGarbage(runtimeDir(), probeCgroups());
  for (const line of done) process.stdout.write(`tsminc gc: ${line}\n`);
  process.stdout.write(`tsminc gc: ${done.length === 0 ? "nothing to clean" : `${done.length} cleaned`}\n`);
}

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes("--debug");
  try {
    if (argv[2] === "gc" && argv.length === 3) await gc();
    else await program(run).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return;
      process.stderr.write(`tsminc: ${err.message.replace(/^error: /, "")}\ntsminc: hint: see tsminc --help\n`);
    } else {
      process.stderr.write(formatError("tsminc", err, debug));
    }
    process.exitCode = EXIT.launcherFailed;
  }
}

await main(process.argv);
// Nothing of ours may keep the process alive after the run (stdin, sockets): leave with the status.
process.exit(process.exitCode ?? 0);
