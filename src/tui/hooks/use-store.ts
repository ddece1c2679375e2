import { createContext, useContext, useRef, useSyncExternalStore } from 'react';
import type { DashboardStore } from '../state/store.js';
import type { DashboardState } from '../state/types.js';

const StoreContext = createContext<DashboardStore | null>(null);

/** Provides the dashboard's store to every connected component. */
export const StoreProvider = StoreContext.Provider;

/** True when two values are equal, or two plain objects hold the same values (one level deep, Object.is). */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The part of the store's published state that a component shows. The component re-renders only
 * when `select` gives a different result (shallowly): a flush that changed another panel's data,
 * or the clock's tick when the component shows no time that changed, costs no render and, when no
 * component re-renders, no frame at all. `select` must be a module-level function of the state.
 */
export function useStore<T>(select: (s: DashboardState) => T, equal: (a: T, b: T) => boolean = shallowEqual): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore needs a StoreProvider');
  const last = useRef<{ state: DashboardState; select: (s: DashboardState) => T; value: T } | null>(null);
  const get = (): T => {
    const state = store.snapshot();
    const prev = last.current;
    if (prev && prev.state === state && prev.select === select) return prev.value;
    const value = select(state);
    // the same content keeps the same reference, so that React sees no change
    const kept = prev && equal(prev.value, value) ? prev.value : value;
    last.current = { state, select, value: kept };
    return kept;
  };
  return useSyncExternalStore(store.subscribe, get);
}
