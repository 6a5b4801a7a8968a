// A process and its descendants on the host, read from /proc (every process's parent, field 4 of
// /proc/PID/stat): what tsminc-runtime's ps lists and its pause stops.
import { readdirSync, readFileSync } from "node:fs";

/** pid → parent pid and state (field 3: R, S, T...), for every process that could be read. */
function parents(): Map<number, { ppid: number; state: string }> {
  const table = new Map<number, { ppid: number; state: string }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), { ppid: Number(fields[1]), state: fields[0] ?? "" });
    } catch {
      // it ended while we looked
    }
  }
  return table;
}

/** `pid` (if it lives) and its descendants, parents before their children; state "Z" ones left out. */
export function processTree(pid: number): { pid: number; state: string }[] {
  const table = parents();
  const children = new Map<number, number[]>();
  for (const [child, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), child]);
  const self = table.get(pid);
  if (self === undefined) return [];
  const tree = [{ pid, state: self.state }];
  for (let i = 0; i < tree.length; i++) {
    for (const child of children.get(tree[i]?.pid ?? -1) ?? [])
      tree.push({ pid: child, state: table.get(child)?.state ?? "" });
  }
  return tree.filter((p) => p.state !== "Z");
}
