// tsminc's own exit statuses (Docker's convention, plus timeout(1)'s 124); the command's pass through.
export const EXIT = {
  /** --timeout ran out and the container was killed */
  timedOut: 124,
  /** tsminc itself failed (bad input, missing image, ...) */
  launcherFailed: 125,
  /** the VM stopped without reporting the command's status (panic, init died, killed) */
  guestDied: 255,
} as const;

export const timeoutMessage = (seconds: number) =>
  `tsminc: timed out after ${seconds} s: the container was killed (--timeout)`;
