/**
 * `rpc-load-balancer/dashboard`: a live web view of the cluster as one node sees it — members
 * and links, balancers with per-member figures, each node's groups, uptime, Node.js release and
 * event-loop utilisation — served by node:http, with the page's assets in the package (no CDN,
 * no build step). Read-only: it takes snapshots, never calls user functions.
 */
export type { DashboardOptions } from './options.js';
export {
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_INTERVAL_MS,
  isLoopbackHost,
} from './options.js';
export { type Dashboard, type DashboardSource, startDashboard } from './server.js';
export type {
  DashboardView,
  ViewBalancer,
  ViewEvent,
  ViewLink,
  ViewMember,
  ViewNode,
  ViewNodeState,
} from './view.js';
