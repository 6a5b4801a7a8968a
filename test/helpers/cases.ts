// The run cases every container mode must pass (vm mode and ns mode, every arch):
// exit statuses, byte-exact stdio, and hostile arguments.

export interface RunCase {
  readonly name: string;
  /** tsminc options the case adds, before the rootfs's own */
  readonly flags?: readonly string[];
  readonly command: readonly string[];
  readonly input?: string;
  readonly status: number;
  /** the exact stdout bytes, when given */
  readonly stdout?: Buffer;
  /** what stderr must match */
  readonly stderr?: RegExp;
}

/** Arguments a shell would mangle: each must arrive as it is. */
export const HOSTILE_ARGS: readonly string[] = [
  "two words",
  "  padded  ",
  "",
  "'single'",
  '"double"',
  "$HOME ${PATH} $(id) `id`",
  "; rm -rf / ; echo",
  "* ? [a-z] ~",
  "line one\nline two\n",
  "tab\there",
  "back\\slash \\n",
  "-n",
  "--",
  "ünïcödé ✓ 日本",
  "a'b\"c$d`e\\f",
];

export const RUN_CASES: readonly RunCase[] = [
  {
    name: "--name sets the container's hostname",
    flags: ["--name", "box-1"],
    command: ["cat", "/proc/sys/kernel/hostname"],
    status: 0,
    stdout: Buffer.from("box-1\n"),
  },
  { name: "the command's status passes through", command: ["sh", "-c", "exit 42"], status: 42 },
  {
    name: "--read-only, --tmpfs with options, -b HOST:PATH:ro,nosuid: only the tmpfs is writable",
    flags: ["--read-only", "--tmpfs", "/run:size=1m", "-b", "/etc:/hostetc:ro,nosuid"],
    command: [
      "sh",
      "-c",
      [
        "echo x > /run/a && cat /run/a",
        'grep -q " /run tmpfs rw,nosuid,nodev,noexec,.*size=1024k" /proc/mounts && echo tmpfs-options',
        'grep " /hostetc " /proc/mounts | grep " ro," | grep -q ",nosuid," && echo bind-flags',
        "test -r /hostetc/passwd && echo bind-readable",
        "(echo y > /z) 2>/dev/null || echo root-read-only",
      ].join("; "),
    ],
    status: 0,
    stdout: Buffer.from("x\ntmpfs-options\nbind-flags\nbind-readable\nroot-read-only\n"),
  },
  {
    name: "a missing command is 127",
    command: ["no-such-command"],
    status: 127,
    stderr: /no-such-command: command not found/,
  },
  {
    name: "a non-executable file is 126",
    command: ["/etc/passwd"],
    status: 126,
    stderr: /\/etc\/passwd: permission denied/,
  },
  {
    name: "death by signal is 128+n (kill -9 $$: 137)",
    command: ["sh", "-c", "kill -9 $$"],
    status: 137,
    stderr: /^$/,
  },
  { name: "stdout is byte-exact", command: ["printf", "a\\nb"], status: 0, stdout: Buffer.from("a\nb"), stderr: /^$/ },
  {
    name: "stdout and stderr stay apart",
    command: ["sh", "-c", "echo out; echo err >&2"],
    status: 0,
    stdout: Buffer.from("out\n"),
    stderr: /^err\n$/,
  },
  {
    name: "stdin is piped in until EOF",
    command: ["wc", "-l"],
    input: "a\nb\n",
    status: 0,
    stdout: Buffer.from("2\n"),
  },
  {
    name: "hostile arguments round-trip byte for byte",
    command: ["printf", "%s\\0", ...HOSTILE_ARGS],
    status: 0,
    stdout: Buffer.from(HOSTILE_ARGS.map((a) => `${a}\0`).join("")),
  },
];

/** The two ways to run a container, as tsminc flags: in an ermine VM and in namespaces on the host. */
export const MODES = [
  ["--qemu", ["--qemu"]],
  ["ns", []],
] as const;
