// A static x86_64 program the confinement tests bind into a container: it makes system calls a
// confined container must not get through, each with arguments that change nothing even where it
// does (a bad clock value, a bad reboot magic, NULL pointers), and prints "NAME ERRNO" per call.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Text } from "../../src/host/hash.js";
import { cacheDir } from "../../src/host/paths.js";

const SOURCE = `#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long r) { printf("%s %s\\n", name, r == 0 ? "ok" : strerrorname_np(errno)); }

int main(void) {
    struct timespec bad = {.tv_sec = 0, .tv_nsec = -1};
    report("init_module", syscall(SYS_init_module, NULL, 0, ""));
    report("finit_module", syscall(SYS_finit_module, -1, "", 0));
    report("keyctl", syscall(SYS_keyctl, 0, -2, 0));
    report("add_key", syscall(SYS_add_key, "user", "tsminc", "x", 1, -2));
    report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));
    report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
    report("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, ""));
    report("bpf", syscall(SYS_bpf, 5, NULL, 0));
    report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
    report("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
    report("swapon", syscall(SYS_swapon, "/nonexistent", 0));
    // Last: where it works, the process is left in a user namespace, without privilege for the rest.
    report("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
    return 0;
}
`;

/** The probe, built once per source (cached under the test cache), for x86_64 roots. */
export function syscallProbe(): string {
  const dir = join(cacheDir(), "test-probe", sha256Text(SOURCE).slice(0, 12));
  const binary = join(dir, "syscall-probe");
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "probe.c"), SOURCE);
  execFileSync("gcc", ["-static", "-O2", "-o", `${binary}.tmp`, join(dir, "probe.c")]);
  execFileSync("mv", [`${binary}.tmp`, binary]);
  return binary;
}

/** The probe's output as a map from call to errno name ("ok" when it succeeded). */
export function probeResults(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
}
