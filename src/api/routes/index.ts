import type { Route } from '../context.js';
import { agentRoutes } from './agents.js';
import { healthRoutes } from './health.js';
import { readRoutes } from './read.js';
import { workRoutes } from './work.js';

/** Every route; the path templates double as the `route` label of the request metric (a closed set). */
export const ROUTES: readonly Route[] = [...healthRoutes, ...agentRoutes, ...readRoutes, ...workRoutes];

/** The route for a path, its parameters, and the methods the path allows (for 405). */
export function matchRoute(method: string, pathname: string): { route?: Route; params: Record<string, string>; allowed: string[]; template?: string } {
  const segments = pathname.split('/');
  const allowed: string[] = [];
  let found: { route: Route; params: Record<string, string> } | undefined;
  for (const route of ROUTES) {
    const params = matchPath(route.path, segments);
    if (!params) continue;
    allowed.push(route.method);
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) found ??= { route, params };
  }
  const template = found?.route.path ?? ROUTES.find((r) => matchPath(r.path, segments))?.path;
  return { ...(found ?? { params: {} }), allowed: [...new Set(allowed)], ...(template ? { template } : {}) };
}

function matchPath(template: string, segments: string[]): Record<string, string> | null {
  const parts = template.split('/');
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      if (s === '') return null;
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return null;
      }
    } else if (p !== s) return null;
  }
  return params;
}
