/** `npm run openapi`: writes docs/openapi.json from the route table and its zod schemas. */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openApiJson } from "../lib/api/openapi-json.js";

const target = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));
writeFileSync(target, openApiJson());
console.log(`wrote ${target}`);
