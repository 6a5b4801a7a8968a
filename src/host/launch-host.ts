// Runs a planned host-mode container: fills the tmpdir, runs the entry chain on this process's own
// stdio, and cleans up, always. The signals that end a run (see signals.ts) end the container's whole
// pid namespace; on a terminal Ctrl-C and Ctrl-\ are the container's own, as for a foreground job.
import type { HostPlan } from "../core/host-plan.js";
import { shellJoin } from "../core/shell-quote.js";
import { applyCgroups, removeCgroups } from "./cgroup.js";
import { deadline, stoppedStatus } from "./deadline.js";
import type { SignalTrap } from "./signals.js";
import type { Runner } from "./runner.js";
import { fillHostTmpdir, removeTmpdir, trimKeptTmpdir } from "./tmpdir.js";

export interface HostLaunchDeps {
  readonly runner: Runner;
  readonly say: (line: string) => void;
  /** set by the caller before the tmpdir was made (see trapRunSignals) */
  readonly trap: SignalTrap;
}

export async function launchHost(plan: HostPlan, rootdir: string, deps: HostLaunchDeps): Promise<number> {
  const { trap } = deps;
  try {
    fillHostTmpdir(plan);
    if (plan.cgroup) await applyCgroups(plan.cgroup);
    const child = deps.runner.spawn(plan.file, plan.args, {
      stdio: ["inherit", "inherit", "inherit"],
      env: plan.env,
      extendEnv: false,
    });
    // The chain's first process is unshare's parent; killing it makes --kill-child end the pid namespace.
    trap.onSignal(() => {
      child.kill("SIGKILL");
    });
    const timer = deadline(plan.timeoutSec, () => {
      child.kill("SIGKILL");
    });
    try {
      const { exitCode } = await child.done;
      return stoppedStatus(trap, timer, deps.say) ?? exitCode;
    } finally {
      timer.clear();
    }
  } finally {
    if (plan.cgroup) await removeCgroups(plan.cgroup);
    if (plan.keep) {
      trimKeptTmpdir(plan.tmpdir);
      deps.say(
        `tsminc: kept ${plan.tmpdir}; reuse it with: ${shellJoin(["tsminc", "-r", rootdir, "-t", plan.tmpdir])} ...`,
      );
    } else {
      removeTmpdir(plan.tmpdir);
    }
  }
}
