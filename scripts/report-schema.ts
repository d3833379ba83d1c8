/** `npx tsx scripts/report-schema.ts`: writes docs/report.schema.json from lib/cli/report/schema.ts. */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { reportSchemaJson } from "../lib/cli/report/schema.js";

const target = fileURLToPath(new URL("../docs/report.schema.json", import.meta.url));
writeFileSync(target, reportSchemaJson());
console.log(`wrote ${target}`);
