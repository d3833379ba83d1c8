// Minimal types for dynalite 4 (it ships none): the options Tether uses and the server it returns.
declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    /** LevelDB directory; in memory when omitted. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
    ssl?: boolean;
  }

  /** Creates (does not start) a dynalite HTTP server; `close` also closes its database. */
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
