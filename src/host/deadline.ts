// --timeout: calls `expire` once the seconds are up, and remembers that it did.
export interface Deadline {
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
    expired: () => expired,
    clear: () => {
      clearTimeout(timer);
    },
  };
}
