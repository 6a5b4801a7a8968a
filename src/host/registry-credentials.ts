// A registry's credentials from the auth files (podman's, docker's, or one named), and the error when they fall short.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { MincError } from "../core/errors.js";
import { authFileSearch, credentialsIn } from "../core/registry-auth.js";
import type { RegistryOptions } from "./registry.js";
import { codeOf, firstLine } from "./registry-errors.js";

export type Credentials =
  | { readonly kind: "auth"; readonly user: string; readonly pass: string; readonly file: string }
  | { readonly kind: "helper"; readonly helper: string; readonly file: string }
  | { readonly kind: "none"; readonly searched: readonly string[] };

/** The first auth file with credentials for this registry; a credential helper only if none has. */
export async function findCredentials(host: string, repository: string, opts: RegistryOptions): Promise<Credentials> {
  const env = opts.env;
  const searched = authFileSearch(opts.authFile, env, env.HOME ?? homedir(), process.getuid?.());
  let helper: Credentials | undefined;
  for (const file of searched) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if (codeOf(err) === "ENOENT" || codeOf(err) === "ENOTDIR") continue;
      throw new MincError("registry", `cannot read the auth file ${file}: ${firstLine(err)}`, { cause: err });
    }
    const found = credentialsIn(text, host, repository);
    if (found.kind === "auth") return { kind: "auth", user: found.user, pass: found.pass, file };
    if (found.kind === "helper") helper ??= { kind: "helper", helper: found.helper, file };
    if (found.kind === "invalid") {
      throw new MincError("registry", `the auth file ${file} is unusable: ${found.reason}`, {
        hint: `fix it, or log in again: skopeo login ${host}`,
      });
    }
  }
  return helper ?? { kind: "none", searched };
}

/** The error for a 401 that `creds` (or their absence) did not get past. */
export function deniedError(host: string, repository: string, creds: Credentials): MincError {
  switch (creds.kind) {
    case "auth":
      return new MincError("registry", `${host} refused the credentials for ${repository} from ${creds.file}`, {
        hint: `log in again: skopeo login ${host} (or fix that file)`,
      });
    case "helper":
      return new MincError(
        "registry",
        `the credentials for ${host} are in the credential helper docker-credential-${creds.helper} (named in ${creds.file}), which tsminc does not run`,
        {
          hint: `log in to an auth file instead: skopeo login --authfile FILE ${host}, then REGISTRY_AUTH_FILE=FILE`,
        },
      );
    case "none":
      return new MincError(
        "registry",
        `${host} wants credentials for ${repository}, and none are in ${creds.searched.join(", ")}`,
        { hint: `log in: skopeo login ${host} (or check the repository's name)` },
      );
  }
}
