// tsminc-runtime update (containerd's shim: `update --resources -`, for docker update): a VM's
// memory and CPUs are set when it boots, so an update that would size it otherwise is refused in one
// line, and one that keeps them (docker update --restart sends the same resources again) is done.
import { readFileSync } from "node:fs";
import { fromOciSpec } from "../config/from-oci.js";
import { MincError } from "../core/errors.js";
import { readState, statusOf } from "../host/runtime-state.js";
import { fail, readSpec } from "./runtime-common.js";
import type { RuntimeArgs } from "./runtime-args.js";

/**
 * runc's LinuxResources, as far as they size the VM (update --resources FILE, or - for stdin, and
 * flags); 0 leaves a value as it is, as with runc (docker sends zeros for what it does not change).
 */
interface Resources {
  memory?: { limit?: number };
  cpu?: { quota?: number; period?: number };
}

function wantedResources(a: RuntimeArgs): Resources {
  const file = a.options.resources;
  let wanted: Resources = {};
  if (typeof file === "string") {
    try {
      wanted = JSON.parse(readFileSync(file === "-" ? 0 : file, "utf8")) as Resources;
    } catch (cause) {
      throw new MincError("usage", `update --resources ${file}: not runc's resources JSON`, {
        hint: "give a file",
        cause,
      });
    }
  }
  const flag = (name: string) => (typeof a.options[name] === "string" ? Number(a.options[name]) : undefined);
  const set = (key: string, value: number | undefined) =>
    value !== undefined && Number.isFinite(value) && value > 0 ? { [key]: value } : {};
  return {
    memory: { ...set("limit", wanted.memory?.limit), ...set("limit", flag("memory")) },
    cpu: {
      ...set("quota", wanted.cpu?.quota),
      ...set("quota", flag("cpu-quota")),
      ...set("period", wanted.cpu?.period),
      ...set("period", flag("cpu-period")),
    },
  };
}

/**
 * runc's update: the VM's memory and CPUs are set when it boots, so an update that would size it
 * otherwise is refused; one that keeps them (docker update --restart sends the same resources) is
 * done. ns mode does not apply config.json's resources: the update is logged as not applied.
 */
export function update(a: RuntimeArgs, root: string, id: string, log: (line: string) => void): void {
  const s = readState(root, id);
  if (statusOf(s) === "stopped") throw fail(`container ${id} is stopped`, "update needs a container that runs");
  const wanted = wantedResources(a);
  const text = readSpec(s.bundle);
  const spec = JSON.parse(text) as { linux?: { resources?: Resources } };
  const now = fromOciSpec(text, s.bundle).config;
  const resources = spec.linux?.resources ?? {};
  const next = {
    ...spec,
    linux: {
      ...spec.linux,
      resources: {
        ...resources,
        memory: { ...resources.memory, ...wanted.memory },
        cpu: { ...resources.cpu, ...wanted.cpu },
      },
    },
  };
  const then = fromOciSpec(JSON.stringify(next), s.bundle).config;
  if (!now.qemu) {
    log(`warning: ${id}: update: ns mode does not apply the resources`);
    return;
  }
  const size = (c: typeof now) =>
    `${c.memMiB === undefined ? "the default memory" : `${c.memMiB} MiB`} and ${c.cpus === undefined ? "the default CPUs" : `${c.cpus} CPU${c.cpus === 1 ? "" : "s"}`}`;
  if (now.memMiB !== then.memMiB || now.cpus !== then.cpus)
    throw fail(
      `update: the VM of ${id} has ${size(now)}, not ${size(then)}: they are set when it boots`,
      "create the container again with the new limits",
    );
}
