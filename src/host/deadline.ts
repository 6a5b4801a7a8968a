// --timeout: calls `expire` once the seconds are up, and remembers that it did; and the status of a
// run that tsminc itself stopped (a signal, or the deadline).
import { constants } from "node:os";
import { EXIT, timeoutMessage } from "../core/exit-status.js";

export interface Deadline {
  readonly seconds: number | undefined;
  readonly expired: () => boolean;
  readonly clear: () => void;
}

export function deadline(seconds: number | undefined, expire: () => void): Deadline {
  let expired = false;
  const timer =
    seconds === undefined
      ? undefined
      : setTimeout(() => {
          expired = true;
          expire();
        }, seconds * 1000);
  return {
    seconds,
    expired: () => expired,
    clear: () => {
      clearTimeout(timer);
    },
  };
}

/**
 * 128+n after signal n stopped the run, 124 (said in one line) after the deadline; undefined when the
 * run ended by itself (or every signal went to the container, whose status it then is).
 */
export function stoppedStatus(
  signalled: NodeJS.Signals | undefined,
  timer: Deadline,
  say: (line: string) => void,
): number | undefined {
  if (signalled !== undefined) return 128 + constants.signals[signalled];
  if (timer.expired() && timer.seconds !== undefined) {
    say(timeoutMessage(timer.seconds));
    return EXIT.timedOut;
  }
  return undefined;
}
