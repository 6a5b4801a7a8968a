// The last `count` command-line arguments as the exact bytes the kernel holds: Node decodes argv as
// UTF-8 and turns invalid bytes into U+FFFD, which would change a command's arguments.
import { readFileSync } from "node:fs";

export function rawArgvTail(count: number): Buffer[] | undefined {
  if (count === 0) return [];
  let cmdline: Buffer;
  try {
    cmdline = readFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const words: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < cmdline.length; i++) {
    if (cmdline[i] === 0) {
      words.push(cmdline.subarray(start, i));
      start = i + 1;
    }
  }
  return words.length >= count ? words.slice(-count) : undefined;
}
