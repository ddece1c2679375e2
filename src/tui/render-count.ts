/**
 * How many times each component rendered, by name. Component tests read it to prove that a
 * change to one panel's data re-renders that panel only; counting costs a Map update per render.
 */
export const renderCounts = new Map<string, number>();

/** Counts one render of `name`. */
export function countRender(name: string): void {
  renderCounts.set(name, (renderCounts.get(name) ?? 0) + 1);
}

/** The renders of `name` so far. */
export function rendersOf(name: string): number {
  return renderCounts.get(name) ?? 0;
}
