// Bench case for memory given back: a default-sized VM's job touches 1 GiB, frees it and sleeps 2 s;
// qemu's resident memory is read on the host then (free page reporting has had its time).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/host/paths.js";
import { childNamed } from "../test/helpers/processes.js";

const TSMINC = join(packageRoot, "dist/bundle/tsminc.cjs");

// 1024 strings of 1 MiB, every byte written, then awk exits and the guest's kernel frees them.
const JOB = [
  "awk 'BEGIN { for (i = 0; i < 1024; i++) a[i] = sprintf(\"%1048576d\", i) }'",
  "sleep 2",
  "echo sample",
  "read -r _",
].join("; ");

export const MEMORY_CASE = "x86_64: qemu RSS 2 s after a job touched and freed 1 GiB (default size)";

/** One run of the job in a default-sized VM; resolves with qemu's VmRSS in KiB at "sample". */
export async function rssAfterFree(root: string): Promise<number> {
  const child = spawn(process.execPath, [TSMINC, "--qemu", "-r", root, "sh", "-c", JOB], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  let out = "";
  let rss: number | undefined;
  let failure: Error | undefined;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
    if (rss !== undefined || failure !== undefined || !out.includes("sample\n")) return;
    childNamed(child.pid, "qemu-system", 5000)
      .then((qemu) => {
        rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${qemu}/status`, "utf8"))?.[1]);
      })
      .catch((e: unknown) => (failure = e instanceof Error ? e : new Error("bench: no qemu to sample")))
      .finally(() => child.stdin.end("\n"));
  });
  const status = await exited;
  if (failure !== undefined) throw failure;
  if (status !== 0 || rss === undefined) throw new Error(`bench: the 1 GiB job exited with ${status}: ${out.trim()}`);
  return rss;
}
