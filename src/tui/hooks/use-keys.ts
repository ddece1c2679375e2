import { useInput } from 'ink';
import { splitKeys } from '../keys/split.js';
import type { Controller } from '../state/controller.js';

/** Sends every key press to the controller (which looks it up in the command table). */
export function useKeys(controller: Controller): void {
  useInput((input, key) => {
    for (const k of splitKeys({ ...key, input })) controller.key(k);
  });
}
