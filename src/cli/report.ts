// Prints an error for the user (one line, its hint, its details) and picks the exit code; used only by CLI entries.
import { asMincError, type MincError } from "../core/errors.js";

export function formatError(prog: string, err: unknown, debug: boolean): string {
  const e: MincError = asMincError(err);
  const lines = [`${prog}: ${e.message}`];
  if (e.details.length > 0) lines.push(...e.details.map((l) => `  | ${l}`));
  if (e.hint) lines.push(`${prog}: hint: ${e.hint}`);
  if (debug || e.code === "internal") {
    lines.push(e.stack ?? "");
    if (e.cause instanceof Error) lines.push(`cause: ${e.cause.stack ?? e.cause.message}`);
  }
  return lines.join("\n") + "\n";
}
