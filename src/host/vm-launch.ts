// Runs a planned vm-mode container (--qemu): fills the tmpdir, starts nsrun, which becomes qemu in
// a private mount namespace, bridges stdio, forwards signals, reads the status the guest left, and
// cleans up, always.
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import { join } from "node:path";
import { CONTROL_PORT, type VmPlan } from "../core/vm-plan.js";
import { EXIT } from "../core/exit-status.js";
import { SHARE_FILES } from "../core/run-script.js";
import { shellJoin } from "../core/shell-quote.js";
import { applyCgroups, removeCgroups } from "./cgroup.js";
import { deadline, stoppedStatus } from "./deadline.js";
import type { SignalTrap } from "./signals.js";
import { ESCAPE_HELP } from "../core/console-escape.js";
import { bridgeTerminal, listenControl } from "./console-bridge.js";
import { listenPorts, type Stdio } from "./port-bridge.js";
import type { PtySpawner } from "./pty.js";
import type { Runner } from "./runner.js";
import { fillVmTmpdir, removeTmpdir, trimKeptTmpdir } from "./tmpdir.js";

export interface VmLaunchDeps {
  readonly runner: Runner;
  readonly pty: PtySpawner;
  readonly stdio: Stdio;
  /** one line for the user (stderr) */
  readonly say: (line: string) => void;
  /** set by the caller before the tmpdir was made (see trapRunSignals) */
  readonly trap: SignalTrap;
  /** a run an engine started: where exec sessions reach the guest through this process (exec-relay.ts) */
  readonly relay?: string;
}

/** The status the guest reported, or undefined when it reported none (panic, killed, escape). */
async function guestStatus(tmpdir: string): Promise<number | undefined> {
  const text = await readFile(join(tmpdir, SHARE_FILES.status), "utf8").catch(() => "");
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

/** An engine's run: exec sessions reach the guest through the relay (exec-relay.ts). */
async function startRelay(
  plan: VmPlan,
  deps: VmLaunchDeps,
  control: { send(line: string): boolean } | undefined,
): Promise<{ close(): void } | undefined> {
  if (!plan.engine || deps.relay === undefined || control === undefined) return undefined;
  const { listenRelay } = await import("./exec-relay.js");
  return listenRelay(deps.relay, { tmpdir: plan.tmpdir }, (line) => control.send(line));
}

/** Runs the VM until it powers off or a signal ends it; resolves with the exit status for tsminc. */
async function runVm(plan: VmPlan, deps: VmLaunchDeps, trap: SignalTrap): Promise<number> {
  const seen = { escaped: false, chain: 0, stoppedBySignal: false };
  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  // A signal goes to the container's command when the plan says so and the guest is there to take
  // it; else it stops the VM.
  const onSignal = (control: { send(line: string): boolean } | undefined) => (signal: NodeJS.Signals) => {
    if (plan.engine && control?.send(`signal ${constants.signals[signal]}\n`) === true) return;
    seen.stoppedBySignal = true;
    stop("SIGTERM");
  };
  const timer = deadline(plan.timeoutSec, () => {
    stop("SIGKILL");
  });
  try {
    if (plan.stdio === "ports") {
      const ctl = plan.sockets.find((s) => s.name === CONTROL_PORT);
      const control = ctl === undefined ? undefined : await listenControl(ctl.path);
      const relay = await startRelay(plan, deps, control);
      const bridge = await listenPorts(
        plan.sockets.filter((s) => s !== ctl),
        deps.stdio,
      );
      // qemu's own messages reach the user on stderr; its stdout carries the console only with --debug.
      const child = deps.runner.spawn(plan.file, plan.args, {
        stdio: ["ignore", plan.consoleToStderr ? 2 : "ignore", "inherit"],
      });
      stop = (signal) => {
        child.kill(signal);
      };
      trap.onSignal(onSignal(control));
      seen.chain = (await child.done).exitCode;
      await Promise.race([bridge.drained, new Promise((resolve) => setTimeout(resolve, 3000))]);
      bridge.close();
      relay?.close();
      control?.close();
    } else {
      const socket = plan.sockets.find((s) => s.name === CONTROL_PORT)?.path ?? join(plan.tmpdir, "ctl.sock");
      const control = await listenControl(socket);
      const relay = await startRelay(plan, deps, control);
      const size = { cols: process.stdout.columns, rows: process.stdout.rows };
      // node-pty loads here (a terminal run only); when it cannot, nothing has started yet.
      const pty = await deps.pty.spawn(plan.file, plan.args, size).catch((err: unknown) => {
        control.close();
        throw err;
      });
      stop = (signal) => {
        pty.kill(signal);
      };
      trap.onSignal(onSignal(control));
      const bridge = bridgeTerminal(pty, control);
      // Raw mode as libuv sets it still turns "\n" into "\r\n"; the guest's tty did that already.
      // Leaving raw mode restores the terminal as it was.
      await deps.runner.run("stty", ["-opost"], { stdio: ["inherit", "inherit", "inherit"] });
      void bridge.escaped.then(() => {
        seen.escaped = true;
        deps.say(`\r\ntsminc: ${ESCAPE_HELP}: killing the VM`);
        pty.kill("SIGKILL");
      });
      seen.chain = await pty.done;
      bridge.close();
      relay?.close();
      control.close();
    }
  } finally {
    timer.clear();
  }
  const stopped = stoppedStatus(seen.stoppedBySignal ? trap.first() : undefined, timer, deps.say);
  if (stopped !== undefined) return stopped;
  const status = await guestStatus(plan.tmpdir);
  if (status !== undefined) return status;
  // nsrun failed before qemu started (it said why, in one line): a launcher failure, not the guest's.
  if (seen.chain === EXIT.launcherFailed) return EXIT.launcherFailed;
  if (!seen.escaped) {
    deps.say(
      "tsminc: the VM stopped without reporting the command's status (a kernel panic, its init died, or qemu was killed)",
    );
    deps.say("tsminc: hint: run with --debug to see the kernel's messages");
  }
  return EXIT.guestDied;
}

export async function launchVm(plan: VmPlan, rootdir: string, deps: VmLaunchDeps): Promise<number> {
  const { trap } = deps;
  try {
    fillVmTmpdir(plan);
    if (plan.cgroup) applyCgroups(plan.cgroup);
    // qemu would fail on a port in use only after booting: say so first, in one line.
    if (plan.publish.length > 0) await (await import("./ports.js")).checkPortsFree(plan.publish);
    return await runVm(plan, deps, trap);
  } finally {
    if (plan.cgroup) removeCgroups(plan.cgroup);
    if (plan.keep) {
      trimKeptTmpdir(plan.tmpdir);
      const reuse = shellJoin(["tsminc", "--qemu", "-r", rootdir, "-t", plan.tmpdir]);
      deps.say(`tsminc: kept ${plan.tmpdir}; reuse it with: ${reuse} ...`);
    } else {
      removeTmpdir(plan.tmpdir);
    }
  }
}
