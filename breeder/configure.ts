// Makes a .config from a start target plus merged fragments, and checks that what must survive did.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MincError } from "../src/core/errors.js";
import { make, type BreedContext } from "./context.js";
import {
  applyOptions,
  checkSurvival,
  describeMismatch,
  parseConfig,
  type MergedConfig,
  type Mismatch,
} from "./kconfig.js";

export interface ConfigureRequest {
  /** e.g. "kernel x86_64" */
  readonly what: string;
  /** make arguments that select the tree, O= dir, ARCH and CROSS_COMPILE */
  readonly makeArgs: readonly string[];
  readonly buildDir: string;
  readonly merged: MergedConfig;
  /** fragments whose options must survive (base and arch fragments) */
  readonly protectedFragments: ReadonlySet<string>;
  /** the refresh target: "olddefconfig" (kernel) or "oldconfig" fed with newlines (busybox's older kconfig) */
  readonly refresh: "olddefconfig" | "oldconfig";
}

/** Configures the build dir; returns the requested options olddefconfig changed (not protected ones: those throw). */
export async function configure(ctx: BreedContext, req: ConfigureRequest): Promise<readonly Mismatch[]> {
  const configPath = join(req.buildDir, ".config");
  const refresh = () =>
    make(
      ctx,
      `${req.what} config`,
      [...req.makeArgs, req.refresh],
      req.refresh === "oldconfig" ? "\n".repeat(20000) : undefined,
    );
  await make(ctx, `${req.what} config`, [...req.makeArgs, req.merged.start]);
  let report = checkSurvival(req.merged, new Map(), req.protectedFragments);
  // Twice: an option can become settable only once another one from the same merge is in.
  for (let pass = 0; pass < 2; pass++) {
    await writeFile(configPath, applyOptions(await readFile(configPath, "utf8"), req.merged));
    await refresh();
    report = checkSurvival(req.merged, parseConfig(await readFile(configPath, "utf8")), req.protectedFragments);
    if (report.brokenProtected.length === 0 && report.dropped.length === 0) break;
  }
  if (report.brokenProtected.length > 0) {
    const lines = report.brokenProtected.map(describeMismatch);
    throw new MincError("config", `${req.what}: the config breaks options ermine needs: ${lines.join("; ")}`, {
      hint: "remove those lines from your --config fragment (or enable what they depend on)",
    });
  }
  return report.dropped;
}
