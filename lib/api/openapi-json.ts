import { openApiDocument } from "./openapi.js";
import { apiRoutes } from "./routes/index.js";

/** docs/openapi.json exactly as committed: the document, two-space indented, with a final newline. */
export function openApiJson(): string {
  return `${JSON.stringify(openApiDocument(apiRoutes), null, 2)}\n`;
}
