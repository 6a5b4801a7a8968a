// Registry auth, pure: WWW-Authenticate challenges, a registry's credentials in an auth file's JSON, and where auth files are.

/** One challenge of a WWW-Authenticate header: `Bearer realm="…",service="…"`. */
export interface Challenge {
  /** lower-cased: "basic", "bearer", … */
  readonly scheme: string;
  /** parameter names lower-cased, values unquoted */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** The challenges of a WWW-Authenticate header, in order (RFC 7235: several may share one header). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header.charAt(i))) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && TOKEN_CHAR.test(header.charAt(i))) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === "") {
      i++; // a stray character: not ours to understand
      continue;
    }
    skip(/\s/);
    const current = out.at(-1);
    if (header.charAt(i) !== "=") {
      out.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(/\s/);
    const value = header.charAt(i) === '"' ? quoted() : bare();
    if (current) current.params[name.toLowerCase()] = value;
  }
  return out;

  function quoted(): string {
    let value = "";
    for (i++; i < header.length && header.charAt(i) !== '"'; i++) {
      if (header.charAt(i) === "\\") i++;
      value += header.charAt(i);
    }
    i++; // the closing quote
    return value;
  }
  function bare(): string {
    const start = i;
    while (i < header.length && !/[\s,]/.test(header.charAt(i))) i++;
    return header.slice(start, i);
  }
}

/** What an auth file holds for a registry. */
export type CredentialMatch =
  | { readonly kind: "auth"; readonly user: string; readonly pass: string; readonly key: string }
  /** a credential helper (credHelpers or credsStore), which tsminc does not run */
  | { readonly kind: "helper"; readonly helper: string }
  | { readonly kind: "none" }
  | { readonly kind: "invalid"; readonly reason: string };

/** docker.io's names: `docker login` writes https://index.docker.io/v1/, images say docker.io. */
const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

export function canonicalRegistry(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB.has(lower) ? "docker.io" : lower;
}

interface Key {
  readonly host: string;
  /** a repository namespace the entry is limited to (podman), "" for the whole registry */
  readonly path: string;
  /** written as a URL (docker's form): the path is not a namespace */
  readonly url: boolean;
}

/** `host:port`, `https://host:port`, `http://host/v1/`, `host/namespace` (podman). */
function parseKey(raw: string): Key {
  let rest = raw.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const slash = rest.indexOf("/");
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash + 1).replace(/\/+$/, "");
  const url = scheme !== null || /^v[12]$/.test(path);
  return { host: canonicalRegistry(host), path: url ? "" : path, url };
}

/** The best key of `keys` for `host`/`repository`: the longest namespace, then the plain form over the URL. */
function bestKey(keys: readonly string[], host: string, repository: string): string | undefined {
  const want = canonicalRegistry(host);
  const ranked = keys
    .map((raw) => ({ raw, key: parseKey(raw) }))
    .filter(
      ({ key }) =>
        key.host === want && (key.path === "" || repository === key.path || repository.startsWith(`${key.path}/`)),
    )
    .sort((a, b) => b.key.path.length - a.key.path.length || Number(a.key.url) - Number(b.key.url));
  return ranked[0]?.raw;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The credentials for `host` ("host:port") and `repository` in an auth file's JSON text (podman's
 * auth.json or docker's config.json: `{ "auths": { KEY: { "auth": base64("user:pass") } } }`).
 * As docker and podman do, a credHelpers entry for the registry comes first, then auths, then credsStore.
 */
export function credentialsIn(json: string, host: string, repository: string): CredentialMatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    return { kind: "invalid", reason: `not JSON (${(err as Error).message})` };
  }
  if (!isRecord(parsed)) return { kind: "invalid", reason: "not a JSON object" };
  const { auths, credHelpers, credsStore } = parsed;
  if (isRecord(credHelpers)) {
    const key = bestKey(Object.keys(credHelpers), host, repository);
    const helper = key === undefined ? undefined : credHelpers[key];
    if (typeof helper === "string" && helper !== "") return { kind: "helper", helper };
  }
  if (auths !== undefined && !isRecord(auths)) return { kind: "invalid", reason: '"auths" is not an object' };
  const keys = Object.keys(auths ?? {}).filter((k) => {
    const entry = auths?.[k];
    return isRecord(entry) && typeof entry.auth === "string" && entry.auth !== "";
  });
  const key = bestKey(keys, host, repository);
  const entry = key === undefined ? undefined : auths?.[key];
  if (key !== undefined && isRecord(entry) && typeof entry.auth === "string") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return { kind: "invalid", reason: `the "auth" of ${key} is not base64 of user:password` };
    return { kind: "auth", user: decoded.slice(0, colon), pass: decoded.slice(colon + 1), key };
  }
  if (typeof credsStore === "string" && credsStore !== "") return { kind: "helper", helper: credsStore };
  return { kind: "none" };
}

/** The environment variables the auth file search reads. */
export interface AuthEnv {
  readonly REGISTRY_AUTH_FILE?: string | undefined;
  readonly XDG_RUNTIME_DIR?: string | undefined;
  readonly XDG_CONFIG_HOME?: string | undefined;
  readonly DOCKER_CONFIG?: string | undefined;
}

/**
 * The auth files to look in, in order (podman's and skopeo's): an explicit one, $REGISTRY_AUTH_FILE,
 * podman's runtime file ($XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/UID/auth.json),
 * podman's config file ($XDG_CONFIG_HOME or ~/.config, containers/auth.json), then docker's
 * ($DOCKER_CONFIG or ~/.docker, config.json). The first file with an entry for the registry wins.
 */
export function authFileSearch(
  explicit: string | undefined,
  env: AuthEnv,
  home: string,
  uid: number | undefined,
): string[] {
  const set = (v: string | undefined): v is string => v !== undefined && v !== "";
  const runtime = set(env.XDG_RUNTIME_DIR)
    ? `${env.XDG_RUNTIME_DIR}/containers/auth.json`
    : uid === undefined
      ? undefined
      : `/run/containers/${uid}/auth.json`;
  const paths = [
    explicit,
    env.REGISTRY_AUTH_FILE,
    runtime,
    `${set(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : `${home}/.config`}/containers/auth.json`,
    `${set(env.DOCKER_CONFIG) ? env.DOCKER_CONFIG : `${home}/.docker`}/config.json`,
  ].filter(set);
  return [...new Set(paths)];
}
