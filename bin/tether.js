#!/usr/bin/env node
// Runs bin/tether.ts through tsx, so `npx tether` works in this repository without a build step.
import { register } from "tsx/esm/api";

register();
await import("./tether.ts");
