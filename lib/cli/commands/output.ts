import type { z } from "zod";
import type { CliContext } from "../context.js";
import { CliError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";

/**
 * Checks an answer against the API's own schema before rendering it, so a mismatched server gives one
 * clear message instead of a half-printed table.
 * @throws CliError (exit 1) naming the first field that does not match
 */
export function parseAnswer<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  throw new CliError(
    `the API's answer to ${what} is not what this CLI understands${at}: ${issue?.message ?? "invalid"} ` +
      "(is the CLI older than the API? --json prints the answer as is)",
    ExitCode.Internal,
  );
}

/** `--json`: the body as the API sent it; otherwise the human view of the checked body. */
export function print<T extends z.ZodType>(
  context: CliContext,
  schema: T,
  body: unknown,
  what: string,
  human: (answer: z.infer<T>) => string,
): void {
  if (context.json) {
    context.out(JSON.stringify(body, null, 2));
    return;
  }
  context.out(human(parseAnswer(schema, body, what)));
}
