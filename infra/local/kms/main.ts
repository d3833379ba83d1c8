/**
 * Runs the local KMS emulator alone: `npm run local:kms -- --port 4599 --data-dir .local/kms`.
 * Flags: --port (env KMS_PORT, default 4599), --host, --data-dir (persisted; default in memory),
 * --event-bus-url (env EVENT_BUS_URL).
 */
import { parseArgs } from "node:util";
import { startKmsEmulator } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    "data-dir": { type: "string" },
    "event-bus-url": { type: "string" },
    "account-id": { type: "string" },
  },
});

const port = Number(values.port ?? process.env.KMS_PORT ?? 4599);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid port: ${values.port ?? process.env.KMS_PORT}`);
  process.exit(2);
}

const emulator = await startKmsEmulator({
  port,
  host: values.host ?? "127.0.0.1",
  dataDir: values["data-dir"],
  eventBusUrl: values["event-bus-url"] ?? process.env.EVENT_BUS_URL,
  accountId: values["account-id"],
  logger: (line) => console.log(`[kms] ${line}`),
});

console.log(
  `Local KMS emulator on ${emulator.url} (${values["data-dir"] ? `state in ${values["data-dir"]}` : "in memory"})`,
);
console.log(
  `Admin interface: ${emulator.url}/_admin/clock, /_admin/stats, /_admin/faults, /_admin/cloudtrail, ...`,
);
console.log("Try:");
console.log(
  `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-west-1 aws --endpoint-url ${emulator.url} kms create-key --origin EXTERNAL`,
);
console.log(
  `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-west-1 aws --endpoint-url ${emulator.url} cloudtrail lookup-events`,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`[kms] ${signal}: stopping`);
  emulator.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`[kms] close failed: ${String(err)}`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
