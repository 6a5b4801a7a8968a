// Reads the host's apt sources (one-line and deb822) to find its Debian mirror; pure.

export interface DebianMirror {
  /** e.g. http://deb.debian.org/debian */
  readonly uri: string;
  /** e.g. bookworm */
  readonly suite: string;
  /** the security archive for that suite, when the host lists one */
  readonly security: { readonly uri: string; readonly suite: string } | undefined;
}

interface Entry {
  readonly uri: string;
  readonly suites: readonly string[];
}

function oneLineEntries(text: string): Entry[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => /^deb(-src)?\s/.test(line))
    .map((line) => line.replace(/\[[^\]]*\]/, " ").split(/\s+/))
    .filter((w) => w.length >= 3)
    .map((w) => ({ uri: w[1] ?? "", suites: [w[2] ?? ""] }));
}

function deb822Entries(text: string): Entry[] {
  return text
    .split(/\n\s*\n/)
    .map((stanza) => {
      const field = (name: string) =>
        new RegExp(`^${name}:\\s*(.*)$`, "mi").exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      return { types: field("Types"), uri: field("URIs")[0] ?? "", suites: field("Suites") };
    })
    .filter((e) => e.types.includes("deb") && e.uri !== "")
    .map(({ uri, suites }) => ({ uri, suites }));
}

/** The first Debian archive serving `codename` (and its -security suite) in the given apt source files. */
export function findDebianMirror(files: readonly { name: string; text: string }[], codename: string): DebianMirror {
  const entries = files.flatMap((f) => (f.name.endsWith(".sources") ? deb822Entries(f.text) : oneLineEntries(f.text)));
  const main = entries.find((e) => e.suites.includes(codename));
  const security = entries.find((e) => e.suites.includes(`${codename}-security`));
  return {
    uri: main?.uri ?? "http://deb.debian.org/debian",
    suite: codename,
    security: security ? { uri: security.uri, suite: `${codename}-security` } : undefined,
  };
}

/** The private sources.list: deb-src for orig tarballs, deb for the linux-source package. */
export function privateSourcesList(mirror: DebianMirror, keyring: string): string {
  const opts = `[signed-by=${keyring}]`;
  const lines = [
    `deb-src ${opts} ${mirror.uri} ${mirror.suite} main`,
    `deb ${opts} ${mirror.uri} ${mirror.suite} main`,
  ];
  if (mirror.security) lines.push(`deb ${opts} ${mirror.security.uri} ${mirror.security.suite} main`);
  return lines.join("\n") + "\n";
}
