// The signals that end a run, caught for its whole life (setup, run and cleanup): the first one is
// remembered and handed to whatever the run has started, and none can kill tsminc before it has
// cleaned up. (A default-action signal between a run's end and its cleanup would leave a tmpdir.)
export interface SignalTrap {
  /** the first signal caught, if any */
  readonly first: () => NodeJS.Signals | undefined;
  /** what to do on a signal from now on; called at once if one was caught already */
  readonly onSignal: (react: (signal: NodeJS.Signals) => void) => void;
}

export function trapSignals(signals: readonly NodeJS.Signals[]): SignalTrap {
  let first: NodeJS.Signals | undefined;
  let react: (signal: NodeJS.Signals) => void = () => undefined;
  for (const s of signals) {
    // Never removed: tsminc exits right after its run, and a removed handler would reopen the window.
    process.on(s, () => {
      first ??= s;
      react(s);
    });
  }
  return {
    first: () => first,
    onSignal: (next) => {
      react = next;
      if (first !== undefined) next(first);
    },
  };
}

/**
 * A run's trap, set before anything of it exists. --qemu: SIGINT, SIGTERM and SIGHUP stop the VM.
 * ns mode on a terminal: Ctrl-C and Ctrl-\ reach the container from the terminal itself, so tsminc
 * drops SIGINT and SIGQUIT and is ended by SIGTERM and SIGHUP; off a terminal all four end it.
 */
export function trapRunSignals(qemu: boolean, terminal: boolean): SignalTrap {
  // (--qemu on a terminal: the terminal is raw, so Ctrl-C is a byte for the guest, not a signal.)
  if (qemu) return trapSignals(["SIGINT", "SIGTERM", "SIGHUP"]);
  if (!terminal) return trapSignals(["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT"]);
  trapSignals(["SIGINT", "SIGQUIT"]);
  return trapSignals(["SIGTERM", "SIGHUP"]);
}

/**
 * The signals an OCI runtime's monitor passes on to the container's command (kill ID SIGNAL): the
 * ones node may catch and that end or steer a process. SIGKILL and SIGSTOP cannot be caught: they
 * end or stop the monitor itself, and the VM with it.
 */
export function trapForwardedSignals(): SignalTrap {
  return trapSignals(["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGALRM", "SIGCONT"]);
}
