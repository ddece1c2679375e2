import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Every runtime dependency is used: a package declared and never imported is weight for every
// install (issue 13: @alcalzone/ink-table was declared for years and never imported).
const REPO = path.resolve(new URL('../..', import.meta.url).pathname);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|tsx|mjs)$/.test(e.name) ? [p] : [];
  });
}

describe('package.json', () => {
  it('declares no runtime dependency that src/ or scripts/ never names', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const text = [...sources(path.join(REPO, 'src')), ...sources(path.join(REPO, 'scripts'))].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const unused = Object.keys(pkg.dependencies).filter((name) => !text.includes(`'${name}'`) && !text.includes(`'${name}/`));
    expect(unused).toEqual([]);
  });
});
