import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "./errors.js";

/** Where the CLI talks to when nothing says otherwise: the local stack's default port. */
export const DEFAULT_API_URL = "http://127.0.0.1:3000";
export const DEFAULT_REGION = "eu-west-1";
/**
 * The file `npm start` writes with the local endpoints: `endpoints.json` in its data directory, which is
 * TETHER_LOCAL_DATA_DIR when set (for the CLI as for `npm start`), else `.local/` of the working directory.
 */
export const LOCAL_ENDPOINTS_FILE = "$TETHER_LOCAL_DATA_DIR/endpoints.json (default .local/endpoints.json)";

/** What the CLI uses of the local stack's endpoints file. */
export interface LocalEndpoints {
  /** The path read. */
  readonly path: string;
  readonly api?: string;
  /** The stack's home Region. */
  readonly region?: string;
}

/** The endpoints file's path: TETHER_LOCAL_DATA_DIR/endpoints.json, else .local/endpoints.json under `cwd`. */
export function localEndpointsPath(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const dataDir = env.TETHER_LOCAL_DATA_DIR;
  return join(dataDir ? resolve(cwd, dataDir) : join(cwd, ".local"), "endpoints.json");
}

export interface ApiSettingsInput {
  readonly apiUrlFlag?: string | undefined;
  readonly regionFlag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface ApiSettings {
  readonly apiUrl: string;
  /** Where the URL came from, for messages ("--api-url", "TETHER_API_URL", the endpoints file, "default"). */
  readonly apiUrlSource: string;
  readonly region: string;
}

/**
 * The API URL and signing region: --api-url, then TETHER_API_URL, then the "api" field of the local
 * endpoints file (localEndpointsPath), then http://127.0.0.1:3000; --region, then AWS_REGION, then the
 * local stack's home Region when the URL came from its endpoints file, then eu-west-1.
 * @throws UsageError when the URL is not an http(s) URL or the endpoints file is not JSON
 */
export async function resolveApiSettings(input: ApiSettingsInput): Promise<ApiSettings> {
  let apiUrl = input.apiUrlFlag;
  let apiUrlSource = "--api-url";
  if (apiUrl === undefined && input.env.TETHER_API_URL) {
    apiUrl = input.env.TETHER_API_URL;
    apiUrlSource = "TETHER_API_URL";
  }
  let fileRegion: string | undefined;
  if (apiUrl === undefined) {
    const fromFile = await readLocalEndpoints(input.env, input.cwd);
    if (fromFile?.api !== undefined) {
      apiUrl = fromFile.api;
      apiUrlSource = fromFile.path;
      fileRegion = fromFile.region;
    }
  }
  if (apiUrl === undefined) {
    apiUrl = DEFAULT_API_URL;
    apiUrlSource = "default";
  }
  const region = input.regionFlag ?? (input.env.AWS_REGION || undefined) ?? fileRegion ?? DEFAULT_REGION;
  return { apiUrl: checkApiUrl(apiUrl, apiUrlSource), apiUrlSource, region };
}

function checkApiUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new UsageError(`API URL from ${source} is not a URL: ${value}`, undefined, { cause: error });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`API URL from ${source} must be http or https: ${value}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new UsageError(`API URL from ${source} must have no query, fragment or user info`);
  }
  // A stage path (https://abc.execute-api.eu-west-1.amazonaws.com/prod) is kept; routes are appended to it.
  return url.toString().replace(/\/+$/, "");
}

/**
 * The local stack's endpoints file, if there is one.
 * @throws UsageError when it is not JSON
 */
export async function readLocalEndpoints(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<LocalEndpoints | undefined> {
  const path = localEndpointsPath(env, cwd);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON; delete it or pass --api-url`, undefined, {
      cause: error,
    });
  }
  const { api, region } = (parsed ?? {}) as { api?: unknown; region?: unknown };
  return {
    path,
    ...(typeof api === "string" && api.length > 0 ? { api } : {}),
    ...(typeof region === "string" && region.length > 0 ? { region } : {}),
  };
}
