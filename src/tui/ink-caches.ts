import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Entries kept across frames before the shared caches start over (a few screens' worth of lines). */
const LIMIT = 20_000;

interface Caches {
  styledChars: Map<string, unknown>;
  widths: Map<string, number>;
  blockWidths: Map<string, number>;
}

let shared: Promise<boolean> | undefined;

/**
 * Makes Ink keep its per-line caches from one frame to the next. Ink 6 builds every frame's
 * screen from scratch: each line of text is split into styled characters and measured again, in
 * caches made for that one frame (`Output.caches` in ink/build/output.js). A frame after a key
 * press or a poll changes two or three lines of forty; with the caches kept, the others cost a
 * lookup, and a frame costs about half the CPU (a 120x40 screen: 21 ms -> 13 ms measured). The
 * values depend only on the line's text, so sharing them cannot change what is drawn. Ink's
 * internals are not its API: when they do not look as expected (another Ink version) nothing is
 * changed and this resolves false; a unit test fails then, so that an upgrade notices.
 */
export function shareInkCaches(): Promise<boolean> {
  shared ??= (async () => {
    try {
      const dir = path.dirname(createRequire(import.meta.url).resolve('ink'));
      const mod = (await import(pathToFileURL(path.join(dir, 'output.js')).href)) as { default?: { prototype?: { get?: unknown } } };
      const proto = mod.default?.prototype as { get: (this: { caches?: Caches }) => unknown } | undefined;
      if (typeof proto?.get !== 'function') return false;
      const get = proto.get;
      let kept: Caches | undefined;
      proto.get = function (this: { caches?: Caches }) {
        const own = this.caches;
        if (own && own.styledChars instanceof Map && own.widths instanceof Map && own.blockWidths instanceof Map) {
          if (!kept) kept = own;
          else {
            if (kept.styledChars.size + kept.widths.size + kept.blockWidths.size > LIMIT) for (const m of [kept.styledChars, kept.widths, kept.blockWidths]) m.clear();
            this.caches = kept;
          }
        }
        return get.call(this);
      };
      return true;
    } catch {
      return false;
    }
  })();
  return shared;
}
