import { useSyncExternalStore } from 'react';
import type { DashboardStore } from '../state/store.js';
import type { DashboardState } from '../state/types.js';

/** The store's published snapshot; re-renders only on a flush. */
export function useDashboard(store: DashboardStore): DashboardState {
  return useSyncExternalStore(store.subscribe, store.snapshot);
}
