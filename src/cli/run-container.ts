// Runs one container from a RunConfig in its mode, with the process's own stdio: tsminc's run, and
// the container monitor tsminc-runtime leaves behind. Sets process.exitCode to the container's status.
import { describeNsPlan, describeVmPlan } from "../core/describe-plan.js";
import type { HostFacts } from "../core/host-facts.js";
import { planNs } from "../core/ns-plan.js";
import type { RunConfig } from "../core/run-config.js";
import { planVm } from "../core/vm-plan.js";
import { probeHost } from "../host/probe.js";
import type { PtySpawner } from "../host/pty.js";
import { trapForwardedSignals, trapRunSignals } from "../host/signals.js";
import { spawnRunner } from "../host/spawn-runner.js";
import { readSnapshot } from "../host/snapshot-store.js";
import { makeTmpdir } from "../host/tmpdir.js";

/** Pipe mode never opens a pseudo-terminal: node-pty is not even loaded then. */
const noPty: PtySpawner = {
  spawn: () => {
    throw new Error("no pseudo-terminal in pipe mode");
  },
};

/** What tsminc-runtime's monitor adds to a run: where exec sessions reach the VM (exec-relay.ts). */
export interface EngineHooks {
  readonly relay?: string;
}

async function runVm(config: RunConfig, facts: HostFacts, hooks: EngineHooks): Promise<void> {
  // Plan first with a placeholder: bad input fails here, before anything is made on the host.
  const draft = planVm(config, facts, config.tempdir ?? `${facts.runtimeDir}/tsminc-RANDOM`);
  if (config.dryRun) {
    const found = draft.snapshot === undefined ? "absent" : await readSnapshot(draft.snapshot);
    const saved = typeof found === "object" && "sha256" in found;
    process.stdout.write(describeVmPlan(config, draft, saved));
    return;
  }
  for (const notice of draft.notices) process.stderr.write(`tsminc: ${notice}\n`);
  const trap = config.engine ? trapForwardedSignals() : trapRunSignals(true, false);
  const tmpdir = config.tempdir ?? makeTmpdir(facts.runtimeDir);
  const plan = planVm(config, facts, tmpdir);
  const { launchVm } = await import("../host/vm-launch.js");
  process.exitCode = await launchVm(plan, {
    runner: spawnRunner,
    pty: plan.stdio === "tty" ? (await import("../host/pty.js")).nodePtySpawner : noPty,
    stdio: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    say: (line) => process.stderr.write(`${line}\n`),
    trap,
    ...(hooks.relay === undefined ? {} : { relay: hooks.relay }),
  });
}

async function runNs(config: RunConfig, facts: HostFacts): Promise<void> {
  const draft = planNs(config, facts, config.tempdir ?? `${facts.runtimeDir}/tsminc-RANDOM`);
  if (config.dryRun) {
    process.stdout.write(describeNsPlan(config, draft));
    return;
  }
  for (const notice of draft.notices) process.stderr.write(`tsminc: ${notice}\n`);
  const trap = config.engine ? trapForwardedSignals() : trapRunSignals(false, draft.terminal);
  const tmpdir = config.tempdir ?? makeTmpdir(facts.runtimeDir);
  // Loaded only now: start-up time counts, and each mode needs its own code only.
  const { launchNs } = await import("../host/ns-launch.js");
  process.exitCode = await launchNs(planNs(config, facts, tmpdir), config.rootdir, {
    runner: spawnRunner,
    say: (line) => process.stderr.write(`${line}\n`),
    trap,
  });
}

/** Plans and runs the container; bad input fails before anything is made on the host. */
export async function runContainer(config: RunConfig, hooks: EngineHooks = {}): Promise<void> {
  const facts = probeHost(config);
  if (config.qemu) await runVm(config, facts, hooks);
  else await runNs(config, facts);
}

/** Plans the container without making anything: its bad input fails here, as one error. */
export function checkContainer(config: RunConfig): HostFacts {
  const facts = probeHost(config);
  const draft = `${facts.runtimeDir}/tsminc-RANDOM`;
  if (config.qemu) planVm(config, facts, draft);
  else planNs(config, facts, draft);
  return facts;
}
