export { EventBus } from './bus.js';
export type { CesarEvent, Stamped, EventType } from './types.js';
