/**
 * What every reader of Tether's settings shares (lib/config.ts and each vault adapter's settings.ts): the
 * error that names a bad setting, and the checks on text that are the same everywhere. Pure: the caller
 * reads the environment and the build constants and hands them in.
 */

/** A setting is missing or malformed: the function fails at cold start, naming it, not mid-import. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The environment as a settings reader sees it. */
export type SettingsEnv = Readonly<Record<string, string | undefined>>;

/**
 * A URL as the WHATWG parser reads it (surrounding whitespace trimmed, tabs and newlines dropped, as the
 * parser itself does), or undefined when it does not parse.
 */
export function normalizeUrl(value: string): string | undefined {
  const trimmed = value.trim();
  return URL.canParse(trimmed) ? trimmed.replace(/[\t\n\r]/g, "") : undefined;
}

/** Tether's endpoint overrides of the AWS services it uses (each vault adapter lists its own). */
export const SERVICE_ENDPOINT_OVERRIDES = [
  "TETHER_KMS_ENDPOINT",
  "TETHER_DYNAMODB_ENDPOINT",
  "TETHER_EVENTS_ENDPOINT",
  "TETHER_STS_ENDPOINT",
] as const;

/** The AWS SDK's own endpoint overrides (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html). */
const SDK_ENDPOINT_OVERRIDE = /^AWS_ENDPOINT_URL(_[A-Z0-9_]+)?$/;

/**
 * Refuses endpoint overrides in a bundle built for AWS (lib/config.ts assertNoEndpointOverrides says why).
 * @param names Tether's own override variables
 * @param builtFor what the bundle was built for (undefined: unbundled)
 * @throws ConfigError naming every override that is set
 */
export function refuseEndpointOverrides(
  env: SettingsEnv,
  names: readonly string[],
  builtFor: string | undefined,
): void {
  if (builtFor === undefined || builtFor === "local") return;
  const set = Object.keys(env).filter(
    (name) => env[name] !== undefined && (names.includes(name) || SDK_ENDPOINT_OVERRIDE.test(name)),
  );
  if (set.length === 0) return;
  throw new ConfigError(
    `Tether is misconfigured: ${set.join(", ")} ${set.length === 1 ? "is" : "are"} set, but this bundle was built for AWS, which refuses endpoint overrides (they would send requests, and key material wrapped for KMS, to another server); remove ${set.length === 1 ? "it" : "them"}. Only local and test builds honour endpoint overrides (docs/deploy.md).`,
  );
}

/**
 * The checks a vault adapter's settings.ts runs on its variables: each problem is collected (named by its
 * variable), so one ConfigError lists them all.
 */
export interface SettingsReader {
  readonly env: SettingsEnv;
  /** Records a problem (the ConfigError lists every one). */
  problem(message: string): void;
  /** A required value matching `pattern`; `fallback` when unset or empty (no fallback: a problem). */
  read(name: string, pattern: RegExp, what: string, fallback?: string): string;
  /** Like read, but undefined when unset or empty. */
  optional(name: string, pattern: RegExp, what: string): string | undefined;
  /** An http(s) URL; unset or empty: undefined, or a problem when `required`. */
  url(name: string, required: boolean): string | undefined;
}

/** A {@link SettingsReader} collecting into `problems`. */
export function settingsReader(env: SettingsEnv, problems: string[]): SettingsReader {
  const read = (name: string, pattern: RegExp, what: string, fallback?: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      if (fallback !== undefined) return fallback;
      problems.push(`${name} is not set (${what})`);
      return "";
    }
    if (!pattern.test(value)) problems.push(`${name}: not ${what}`);
    return value;
  };
  return {
    env,
    problem: (message) => problems.push(message),
    read,
    optional: (name, pattern, what) =>
      env[name] === undefined || env[name] === "" ? undefined : read(name, pattern, what),
    url: (name, required) => {
      const value = env[name];
      if (value === undefined || value === "") {
        if (required) problems.push(`${name} is not set (a URL)`);
        return undefined;
      }
      if (normalizeUrl(value) === undefined || !/^https?:\/\//.test(value)) {
        problems.push(`${name}: not an http(s) URL`);
      }
      return value;
    },
  };
}
