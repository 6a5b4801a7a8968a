// Reads the facts of this host that a boot depends on: TSC frequency and whether KVM works.
import { accessSync, constants, readFileSync } from "node:fs";
import { archOfNode, type ArchName } from "../core/arch.js";

function cpuinfo(): string {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
}

/** The host TSC in kHz (x86 only): what an x86 TCG guest reads from rdtsc. */
export function hostTscKhz(info: string = cpuinfo()): number | undefined {
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1];
  return mhz === undefined ? undefined : Math.round(Number(mhz) * 1000);
}

/** Why KVM cannot run a guest of `arch` here, or undefined when it can. */
export function kvmUnusable(arch: ArchName, info: string = cpuinfo()): string | undefined {
  if (archOfNode(process.arch) !== arch) return `the guest arch ${arch} is not the host's`;
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/kvm is missing or not accessible";
  }
  if (arch === "x86_64" && !/^flags\s*:.*\b(vmx|svm)\b/m.test(info)) return "the CPU has no vmx/svm flag";
  return undefined;
}
