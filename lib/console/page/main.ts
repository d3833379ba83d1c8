/**
 * The console's page: a hash router over five views (#/ fleet, #/timeline, #/approvals, #/accounts,
 * #/keys/{id}). Plain DOM, no framework; bundled by esbuild (lib/console/assets.ts) and served by the console's own server.
 */

import { accountsView } from "./accounts-view.js";
import { approvalsView } from "./approvals-view.js";
import { h, show } from "./dom.js";
import { type FleetData, fleetView, loadDetails, loadFleet } from "./fleet-view.js";
import { keyView } from "./key-view.js";
import { timelineView } from "./timeline-view.js";

let fleet: Promise<FleetData> | undefined;
/** Counts route() calls: a view that finishes loading after the user moved on is not drawn. */
let navigation = 0;

async function route(): Promise<void> {
  const mine = ++navigation;
  const stale = () => mine !== navigation;
  const hash = location.hash.replace(/^#/, "") || "/";
  const now = new Date();
  for (const link of document.querySelectorAll("nav a")) {
    const current = link.getAttribute("href") === `#${hash}`;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    if (hash.startsWith("/keys/")) {
      fleet = undefined; // an action may have changed the key: reload the fleet on the way back
      const id = decodeURIComponent(hash.slice("/keys/".length));
      show(h("p", {}, `Loading ${id}…`));
      const view = await keyView(id, now);
      if (!stale()) show(view).focus();
      return;
    }
    if (hash === "/approvals") {
      fleet = undefined; // an approval may have changed a key
      show(h("p", {}, "Loading the pending requests…"));
      const view = await approvalsView(now);
      if (!stale()) show(view).focus();
      return;
    }
    if (hash === "/accounts") {
      show(h("p", {}, "Loading the member accounts…"));
      const view = await accountsView(now);
      if (!stale()) show(view).focus();
      return;
    }
    show(h("p", {}, "Loading the fleet…"));
    fleet ??= loadFleet();
    const data = await fleet;
    if (stale()) return;
    if (hash === "/timeline") {
      const render = () => show(timelineView(data, new Date()));
      render();
      void loadDetails(data, () => undefined).then(() => {
        if (location.hash === "#/timeline") render();
      });
      return;
    }
    show(refreshButton(), fleetView(data, now));
  } catch (error) {
    fleet = undefined;
    if (stale()) return;
    show(
      h("h1", {}, "Could not load"),
      h("pre", { class: "answer error" }, (error as Error).message),
      refreshButton(),
    );
  }
}

function refreshButton(): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "refresh",
      onclick: () => {
        fleet = undefined;
        void route();
      },
    },
    "Refresh",
  );
}

window.addEventListener("hashchange", () => void route());
void route();
