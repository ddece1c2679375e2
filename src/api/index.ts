// The embedded HTTP + WebSocket API (issue 6): routes, the event hub, Prometheus metrics.
export { startApi, assertSafeBind, type ApiServer, type ApiOptions, type ApiDeps } from './server.js';
export type { Phase } from './context.js';
export type { HubOptions } from './ws.js';
