// Runs a planned vm-mode container (--qemu): fills the tmpdir, starts nsrun, which becomes qemu in
// a private mount namespace, bridges stdio, forwards signals, reads the status the guest left, and
// cleans up, always.
import { existsSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import { join } from "node:path";
import { ARCHES } from "../core/arch.js";
import { restoreArgs } from "../core/snapshot-plan.js";
import { CONTROL_PORT, type VmPlan } from "../core/vm-plan.js";
import { EXIT } from "../core/exit-status.js";
import { SHARE_FILES } from "../core/run-script.js";
import { shellJoin } from "../core/shell-quote.js";
import { applyCgroups, removeCgroups } from "./cgroup.js";
import { deadline, stoppedStatus } from "./deadline.js";
import type { SignalTrap } from "./signals.js";
import { ESCAPE_HELP } from "../core/console-escape.js";
import { bridgeTerminal } from "./console-bridge.js";
import { listenControl, releaseLine, type ControlPort } from "./control-port.js";
import { saveSnapshot } from "./snapshot-save.js";
import {
  lockSnapshot,
  originOf,
  readSnapshot,
  removeSnapshot,
  verifySnapshot,
  type SnapshotRecord,
} from "./snapshot-store.js";
import { listenPorts, type Stdio } from "./port-bridge.js";
import type { PtySpawner } from "./pty.js";
import type { Runner } from "./runner.js";
import { fillVmTmpdir, removeTmpdir, trimKeptTmpdir } from "./tmpdir.js";
import { copyUpperDisk, provideRootDisk, provideUpperDisk, type UpperSource } from "./root-disk.js";

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
  control: ControlPort,
): Promise<{ close(): void } | undefined> {
  if (!plan.engine || deps.relay === undefined) return undefined;
  const { listenRelay } = await import("./exec-relay.js");
  return listenRelay(deps.relay, { tmpdir: plan.tmpdir }, (line) => control.send(line), control.until("go"));
}

/** How the VM's init gets released: at once from a snapshot, or after a boot (saving one first). */
type Start =
  | { readonly kind: "cold" }
  | { readonly kind: "save"; readonly unlock: () => void; published: Promise<void> }
  | { readonly kind: "restore"; readonly record: SnapshotRecord };

/** An attempt's end: the VM's status, or a restore that did not wake (the caller boots cold). */
type Attempt = { readonly status: number } | { readonly unresumable: string };

/**
 * Releases the guest's init (see guest-init's await_release) and resolves true once it has woken.
 * A restore is released as soon as qemu is there and the state file proved intact; a boot when its
 * init is ready, after saving the snapshot when this run makes it.
 */
async function release(plan: VmPlan, start: Start, control: ControlPort, deps: VmLaunchDeps, mismatched: () => void) {
  if (start.kind === "restore") {
    const intact = plan.snapshot !== undefined && (await verifySnapshot(plan.snapshot, start.record));
    if (!(await control.connected)) return false;
    if (!intact) {
      mismatched();
      return false;
    }
  } else {
    if (!(await control.until("ready"))) return false;
    if (start.kind === "save" && plan.snapshot !== undefined && plan.qmp !== undefined) {
      const what = `${plan.arch} ${plan.memMiB} MiB ${plan.cpus} CPU ${plan.accel}`;
      const unsaved = (err: unknown) => {
        deps.say(`tsminc: notice: no snapshot saved: ${(err as Error).message}`);
      };
      // The guest is released as soon as it runs again; the snapshot is published meanwhile, and
      // the run waits for that before it ends (runVm).
      const disk = plan.rootDisk;
      const saved = await saveSnapshot(
        plan.snapshot,
        plan.qmp,
        join(plan.tmpdir, "save.sock"),
        ARCHES[plan.arch].ramBlock,
        originOf(plan.image, what),
        disk === undefined ? undefined : (to) => copyUpperDisk(disk.upper, to, deps.runner),
      ).catch(unsaved);
      start.published = (saved?.published ?? Promise.resolve()).then(() => undefined, unsaved);
    }
  }
  control.release(releaseLine());
  return control.until("go");
}

/** Runs the VM until it powers off or a signal ends it; resolves with the exit status for tsminc. */
async function runVm(plan: VmPlan, deps: VmLaunchDeps, trap: SignalTrap, start: Start): Promise<Attempt> {
  const seen = { escaped: false, chain: 0, stoppedBySignal: false, mismatch: false };
  const mismatched = () => {
    seen.mismatch = true;
    stop("SIGKILL");
  };
  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  // A signal goes to the container's command when the plan says so and the guest is there to take
  // it; else it stops the VM.
  const onSignal = (control: { send(line: string): boolean }) => (signal: NodeJS.Signals) => {
    if (plan.engine && control.send(`signal ${constants.signals[signal]}\n`)) return;
    seen.stoppedBySignal = true;
    stop("SIGTERM");
  };
  const timer = deadline(plan.timeoutSec, () => {
    stop("SIGKILL");
  });
  const args = start.kind === "restore" && plan.snapshot ? restoreArgs(plan.args, plan.snapshot.state) : plan.args;
  const ctl = plan.sockets.find((s) => s.name === CONTROL_PORT)?.path ?? join(plan.tmpdir, "ctl.sock");
  const control = await listenControl(ctl);
  let woke: Promise<boolean> = Promise.resolve(false);
  let qemuSaid = "";
  try {
    const relay = await startRelay(plan, deps, control);
    if (plan.stdio === "ports") {
      let awake: (ok: boolean) => void = () => undefined;
      const gate = new Promise<boolean>((resolve) => (awake = resolve));
      const bridge = await listenPorts(
        plan.sockets.filter((s) => s.name !== CONTROL_PORT),
        deps.stdio,
        gate,
      );
      // qemu's own messages reach the user on stderr; its stdout carries the console only with
      // --debug. A restore's are kept until it has woken: one that fails says so in one line.
      const child = deps.runner.spawn(
        plan.file,
        args,
        start.kind === "restore" ? {} : { stdio: ["ignore", plan.consoleToStderr ? 2 : "ignore", "inherit"] },
      );
      stop = (signal) => {
        child.kill(signal);
      };
      trap.onSignal(onSignal(control));
      woke = release(plan, start, control, deps, mismatched);
      void woke.then(awake);
      const result = await child.done;
      seen.chain = result.exitCode;
      qemuSaid = result.stderr;
      awake(false);
      await Promise.race([bridge.drained, new Promise((resolve) => setTimeout(resolve, 3000))]);
      bridge.close();
    } else {
      const size = { cols: process.stdout.columns, rows: process.stdout.rows };
      // node-pty loads here (a terminal run only); when it cannot, nothing has started yet.
      const pty = await deps.pty.spawn(plan.file, args, size);
      stop = (signal) => {
        pty.kill(signal);
      };
      trap.onSignal(onSignal(control));
      woke = release(plan, start, control, deps, mismatched);
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
    }
    relay?.close();
  } finally {
    control.close();
    timer.clear();
    if (start.kind === "save") {
      await start.published;
      start.unlock();
    }
  }
  const stopped = stoppedStatus(seen.stoppedBySignal ? trap.first() : undefined, timer, deps.say);
  if (stopped !== undefined) return { status: stopped };
  const status = await guestStatus(plan.tmpdir);
  // A resume that never woke: a state file that did not hash to its record (qemu was stopped), or
  // one qemu refused (it exits 1, saying why). qemu killed from outside is the guest dying, as ever.
  if (status === undefined && start.kind === "restore" && !seen.escaped && !(await woke)) {
    if (seen.mismatch) return { unresumable: "its state file did not match its record" };
    if (seen.chain > 0 && seen.chain < 128 && seen.chain !== EXIT.launcherFailed)
      return { unresumable: qemuSaid.trim().split("\n").pop() || `qemu exited with status ${seen.chain}` };
  }
  if (qemuSaid !== "") deps.stdio.stderr.write(qemuSaid);
  if (status !== undefined) return { status };
  // nsrun failed before qemu started (it said why, in one line): a launcher failure, not the guest's.
  if (seen.chain === EXIT.launcherFailed) return { status: EXIT.launcherFailed };
  if (!seen.escaped) {
    deps.say(
      "tsminc: the VM stopped without reporting the command's status (a kernel panic, its init died, or qemu was killed)",
    );
    deps.say("tsminc: hint: run with --debug to see the kernel's messages");
  }
  return { status: EXIT.guestDied };
}

/**
 * How this run starts: from its snapshot when there is a sound one, else a boot that saves one if no
 * other run is. A damaged snapshot is removed and said so; a snapshot folder this user cannot write
 * (say, --nopriv with root's HOME) means a cold boot, never a failed run.
 */
async function chooseStart(plan: VmPlan, say: (line: string) => void): Promise<Start> {
  if (plan.snapshot === undefined) return { kind: "cold" };
  try {
    let found = await readSnapshot(plan.snapshot);
    if (typeof found === "object" && "sha256" in found) {
      if (plan.rootDisk === undefined || found.upper !== undefined) return { kind: "restore", record: found };
      found = { damaged: "it has no upper disk" };
    }
    if (found !== "absent") {
      removeSnapshot(plan.snapshot);
      say(`tsminc: notice: the saved ermine ${plan.snapshot.state} is damaged (${found.damaged}); booting it anew`);
    }
    const unlock = lockSnapshot(plan.snapshot);
    return unlock === undefined ? { kind: "cold" } : { kind: "save", unlock, published: Promise.resolve() };
  } catch {
    return { kind: "cold" };
  }
}

/**
 * How the run starts, with its root disks in place: the upper one that -t brought, else a copy of the
 * one its snapshot was saved with (the resumed guest has it mounted), else an empty one.
 */
async function startWithDisks(plan: VmPlan, deps: VmLaunchDeps, first: boolean): Promise<Start> {
  const start = await chooseStart(plan, deps.say);
  const disk = plan.rootDisk;
  if (disk === undefined) return start;
  const upper: UpperSource = plan.reuse
    ? "kept"
    : start.kind === "restore" && plan.snapshot
      ? { saved: plan.snapshot.upper }
      : "empty";
  const provide = (from: UpperSource) =>
    first ? provideRootDisk(disk, from, deps.runner) : provideUpperDisk(disk, from, deps.runner);
  try {
    await provide(upper);
  } catch (err) {
    if (start.kind === "save") start.unlock();
    // The snapshot's upper disk went between its check and the copy (a gc, or a run that removed a
    // snapshot it could not resume): this run boots cold instead.
    if (typeof upper !== "object" || existsSync(upper.saved)) throw err;
    deps.say("tsminc: notice: the saved ermine's upper disk is gone; booting it anew");
    await provide("empty");
    return { kind: "cold" };
  }
  return start;
}

/** Runs the VM, from a snapshot when it can; a snapshot that cannot be resumed is replaced by a boot that saves a new one. */
async function runWarmOrCold(plan: VmPlan, deps: VmLaunchDeps, trap: SignalTrap): Promise<number> {
  const first = await runVm(plan, deps, trap, await startWithDisks(plan, deps, true));
  if ("status" in first) return first.status;
  if (plan.snapshot !== undefined) removeSnapshot(plan.snapshot);
  deps.say(`tsminc: notice: the saved ermine could not be resumed (${first.unresumable}); booting it anew`);
  for (const s of plan.sockets) rmSync(s.path, { force: true });
  const again = await runVm(plan, deps, trap, await startWithDisks(plan, deps, false));
  return "status" in again ? again.status : EXIT.guestDied;
}

export async function launchVm(plan: VmPlan, deps: VmLaunchDeps): Promise<number> {
  const { trap } = deps;
  try {
    fillVmTmpdir(plan);
    if (plan.cgroup) applyCgroups(plan.cgroup);
    // qemu would fail on a port in use only after booting: say so first, in one line.
    if (plan.publish.length > 0) await (await import("./ports.js")).checkPortsFree(plan.publish);
    return await runWarmOrCold(plan, deps, trap);
  } finally {
    if (plan.cgroup) removeCgroups(plan.cgroup);
    if (plan.keep) {
      trimKeptTmpdir(plan.tmpdir);
      deps.say(`tsminc: kept ${plan.tmpdir}; reuse it with: ${shellJoin(plan.rerun)} ...`);
    } else {
      removeTmpdir(plan.tmpdir);
    }
  }
}
