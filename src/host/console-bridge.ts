// Terminal mode: qemu runs on a pseudo-terminal whose bytes are bridged to the user's terminal,
// put in raw mode so Ctrl-C and friends reach the container. Resizes go to the guest over the
// tsminc.ctl port. Ctrl-] then q kills the VM.
import { escapeFilter } from "../core/console-escape.js";
import type { PtyChild } from "./pty.js";

export interface ConsoleBridge {
  /** resolves when the user typed the escape sequence */
  readonly escaped: Promise<void>;
  close(): void;
}

export function bridgeTerminal(pty: PtyChild, control: { send(line: string): void }): ConsoleBridge {
  const stdin = process.stdin;
  const stdout = process.stdout;
  let onEscape: () => void = () => undefined;
  const escaped = new Promise<void>((resolve) => (onEscape = resolve));
  const filter = escapeFilter();
  stdin.setRawMode(true);
  stdin.resume();
  const onInput = (chunk: Buffer) => {
    const { bytes, escaped: typed } = filter(chunk);
    if (bytes.length > 0) pty.write(bytes);
    if (typed) onEscape();
  };
  const onResize = () => {
    pty.resize(stdout.columns, stdout.rows);
    control.send(`${stdout.rows} ${stdout.columns}\n`);
  };
  stdin.on("data", onInput);
  stdout.on("resize", onResize);
  pty.onData((data) => stdout.write(data));
  return {
    escaped,
    close: () => {
      stdin.off("data", onInput);
      stdout.off("resize", onResize);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
