#!/usr/bin/env node
// tsminc: runs a command in a container, on the host or inside an ermine micro-VM (--qemu). The only place
// its exit status is chosen: the command's own, or 125 when tsminc itself failed.
import { toRunConfig, type RawRunOptions, type RunConfig } from "../config/run-config.js";
import { EXIT } from "../core/exit-status.js";
import { describePlan } from "../core/describe-plan.js";
import { planHost } from "../core/host-plan.js";
import { planLaunch, type HostFacts } from "../core/launch-plan.js";
import { shellJoin } from "../core/shell-quote.js";
import { probeHost, runtimeDir } from "../host/probe.js";
import { rawArgvTail } from "../host/raw-argv.js";
import { trapRunSignals } from "../host/signals.js";
import { spawnRunner } from "../host/spawn-runner.js";
import type { PtySpawner } from "../host/pty.js";
import { makeTmpdir } from "../host/tmpdir.js";
import { formatError } from "./report.js";
import { helpText, parseTsmincArgs } from "./tsminc-args.js";

/** Pipe mode never opens a pseudo-terminal: node-pty is not even loaded then. */
const noPty: PtySpawner = {
  spawn: () => {
    throw new Error("no pseudo-terminal in pipe mode");
  },
};

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
  const trap = trapRunSignals(true, false);
  const tmpdir = config.tempdir ?? makeTmpdir(facts.runtimeDir);
  const plan = planLaunch(config, facts, tmpdir);
  const { launchQemu } = await import("../host/launch.js");
  process.exitCode = await launchQemu(plan, config.rootdir, {
    runner: spawnRunner,
    pty: plan.stdio === "tty" ? (await import("../host/pty.js")).nodePtySpawner : noPty,
    stdio: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    say: (line) => process.stderr.write(`${line}\n`),
    trap,
  });
}

async function runOnHost(config: RunConfig, facts: HostFacts): Promise<void> {
  const draft = planHost(config, facts, config.tempdir ?? `${facts.runtimeDir}/tsminc-RANDOM`);
  if (config.dryRun) {
    process.stdout.write(`tsminc: dry run, nothing was started\nargv:\n  ${shellJoin([draft.file, ...draft.args])}\n`);
    return;
  }
  for (const notice of draft.notices) process.stderr.write(`tsminc: ${notice}\n`);
  const trap = trapRunSignals(false, draft.terminal);
  const tmpdir = config.tempdir ?? makeTmpdir(facts.runtimeDir);
  // Loaded only now: start-up time counts, and each mode needs its own code only.
  const { launchHost } = await import("../host/launch-host.js");
  process.exitCode = await launchHost(planHost(config, facts, tmpdir), config.rootdir, {
    runner: spawnRunner,
    say: (line) => process.stderr.write(`${line}\n`),
    trap,
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
    const args = argv.slice(2);
    if (args.length === 1 && args[0] === "gc") {
      await gc();
      return;
    }
    const parsed = parseTsmincArgs(args);
    // The console bridge (and node:net with it) loads only for --help and --qemu runs.
    if ("help" in parsed) process.stdout.write(helpText((await import("../host/console-bridge.js")).ESCAPE_HELP));
    else await run(parsed.raw, parsed.command);
  } catch (err) {
    process.stderr.write(formatError("tsminc", err, debug));
    process.exitCode = EXIT.launcherFailed;
  }
}

// No top-level await: the bundle is CommonJS, which node starts sooner (scripts/bundle.mjs). main never
// rejects; nothing of ours may keep the process alive after the run (stdin, sockets): leave with the status.
void main(process.argv).then(() => process.exit(process.exitCode ?? 0));
