// What one registry client shares between its calls: the HTTP client (got), the scheme, the credentials, the token.
import { readFile } from "node:fs/promises";
import { rootCertificates } from "node:tls";
import type { Got } from "got";
import { MincError } from "../core/errors.js";
import { parseWwwAuthenticate } from "../core/registry-auth.js";
import type { RegistryOptions } from "./registry.js";
import { deniedError, findCredentials, type Credentials } from "./registry-credentials.js";
import { firstLine, isCertError, isTlsMismatch } from "./registry-errors.js";

/** What one request got: its status and challenge, for `authed`, and whatever else the caller wants. */
export interface Answer<T> {
  readonly status: number;
  readonly challenge: string | undefined;
  readonly value: T;
}

/** localhost, 127.0.0.0/8 and ::1, with or without a port: insecure registries, as docker treats them. */
function isLoopback(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

export class Session {
  private origin: Promise<string> | undefined;
  private http: Promise<Got> | undefined;
  private creds: Promise<Credentials> | undefined;
  private authorization: string | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly host: string,
    readonly repository: string,
    private readonly opts: RegistryOptions,
  ) {}

  get name(): string {
    return `${this.host}/${this.repository}`;
  }

  client(): Promise<Got> {
    this.http ??= this.makeClient();
    return this.http;
  }

  private async makeClient(): Promise<Got> {
    let ca: string | undefined;
    if (this.opts.caFile !== undefined) {
      try {
        ca = await readFile(this.opts.caFile, "utf8");
      } catch (err) {
        throw new MincError("usage", `cannot read the CA file ${this.opts.caFile}: ${firstLine(err)}`, {
          cause: err,
          hint: "give a PEM certificate file to --cert-file",
        });
      }
    }
    const host = this.host;
    const idle = this.opts.idleTimeoutMs ?? 60_000;
    // got is loaded on first use: tsminc runs that pull nothing never pay for it.
    const { default: got } = await import("got");
    return got.extend({
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { lookup: 15_000, connect: 15_000, secureConnect: 15_000, response: 30_000, socket: idle },
      headers: { "user-agent": "tsminc" },
      https: {
        rejectUnauthorized: this.opts.tlsVerify,
        ...(ca === undefined ? {} : { certificateAuthority: [...rootCertificates, ca] }),
      },
      hooks: {
        // A redirect elsewhere (a blob's storage) gets no credentials of ours; got drops them too.
        beforeRedirect: [
          (options) => {
            const url = options.url === undefined ? undefined : new URL(options.url);
            if (url !== undefined && new URL(`${url.protocol}//${host}`).host !== url.host) {
              delete options.headers.authorization;
            }
          },
        ],
      },
    });
  }

  /** "https://HOST", or "http://HOST" for a registry allowed to be insecure that does not speak TLS. */
  base(): Promise<string> {
    this.origin ??= this.probe().catch((err: unknown) => {
      this.origin = undefined; // the next call tries again
      throw err;
    });
    return this.origin;
  }

  private async probe(): Promise<string> {
    const http = await this.client();
    const insecure = !this.opts.tlsVerify || isLoopback(this.host);
    try {
      await http.get(`https://${this.host}/v2/`);
      return `https://${this.host}`;
    } catch (err) {
      if (isCertError(err)) {
        throw new MincError("registry", `cannot verify the TLS certificate of ${this.host}: ${firstLine(err)}`, {
          cause: err,
          hint: "--tls-verify=false, or --cert-file CA.pem",
        });
      }
      if (!insecure) {
        if (isTlsMismatch(err)) {
          throw new MincError("registry", `${this.host} does not answer https: ${firstLine(err)}`, {
            cause: err,
            hint: "if it is a plain-http registry: --tls-verify=false",
          });
        }
        throw this.unreachable(err);
      }
      try {
        await http.get(`http://${this.host}/v2/`);
        return `http://${this.host}`;
      } catch {
        throw this.unreachable(err);
      }
    }
  }

  unreachable(err: unknown, what = this.host): MincError {
    return new MincError("registry", `cannot reach ${what}: ${firstLine(err)}`, {
      cause: err,
      hint: "check the registry's name and port, and the network",
    });
  }

  private credentials(): Promise<Credentials> {
    this.creds ??= findCredentials(this.host, this.repository, this.opts);
    return this.creds;
  }

  /** The error for a 401 that credentials (or their absence) did not get past. */
  private async denied(): Promise<MincError> {
    return deniedError(this.host, this.repository, await this.credentials());
  }

  /**
   * Runs `send` anonymously (or with the token already had); on a 401, authenticates as the
   * challenge asks and runs it once more. Concurrent calls share one authentication.
   */
  async authed<T>(send: (headers: Record<string, string>) => Promise<Answer<T>>): Promise<Answer<T>> {
    for (let tries = 0; ; tries++) {
      const used = this.authorization;
      const answer = await send(used === undefined ? {} : { authorization: used });
      if (answer.status !== 401) return answer;
      if (tries > 0) throw await this.denied();
      if (this.authorization === used) {
        this.refreshing ??= this.authenticate(answer.challenge).finally(() => {
          this.refreshing = undefined;
        });
        await this.refreshing;
      }
    }
  }

  private async authenticate(header: string | undefined): Promise<void> {
    const challenges = parseWwwAuthenticate(header ?? "");
    const creds = await this.credentials();
    const basic = creds.kind === "auth" ? Buffer.from(`${creds.user}:${creds.pass}`).toString("base64") : undefined;
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) {
      this.authorization = `Bearer ${await this.token(bearer.params, basic)}`;
      return;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      if (basic === undefined) throw await this.denied();
      this.authorization = `Basic ${basic}`;
      return;
    }
    throw new MincError(
      "registry",
      `${this.host} asks for an authentication tsminc does not speak: ${header ?? "none"}`,
      {
        hint: "tsminc speaks Basic and Bearer (token) authentication",
      },
    );
  }

  /** A Bearer token from the challenge's realm, for pulling this repository. */
  private async token(params: Readonly<Record<string, string>>, basic: string | undefined): Promise<string> {
    const realm = params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? "");
    } catch {
      throw new MincError("registry", `${this.host} asks for a token without a usable realm: ${realm ?? "none"}`);
    }
    if (params.service !== undefined) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", `repository:${this.repository}:pull`);
    const http = await this.client();
    let res;
    try {
      res = await http.get(url, {
        headers: basic === undefined ? {} : { authorization: `Basic ${basic}` },
        responseType: "buffer",
        retry: { limit: 2, errorCodes: ["ECONNRESET", "ETIMEDOUT", "EPIPE"] },
      });
    } catch (err) {
      throw this.unreachable(err, `the token server ${url.origin}`);
    }
    if (res.statusCode === 401 || res.statusCode === 403) throw await this.denied();
    let token: unknown;
    try {
      const body = JSON.parse(res.body.toString("utf8")) as { token?: unknown; access_token?: unknown };
      token = body.token ?? body.access_token;
    } catch {
      token = undefined;
    }
    if (res.statusCode !== 200 || typeof token !== "string" || token === "") {
      throw new MincError("registry", `the token server ${url.origin} answered ${res.statusCode} without a token`, {
        hint: `check that ${this.host} is a registry, and the network`,
      });
    }
    return token;
  }
}
