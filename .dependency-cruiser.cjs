// The import direction of src/ (checked by `npm run lint:imports`, run before the tests):
//
//   commands/, cli.ts, dashboard/, background.ts, runtime.ts   composition: may import anything
//   api/                                                       the HTTP surface: the read side and the core
//   tui/            the screen: the read side only (status/), plus config/, events/, errors
//   status/         the read side: what every surface shows, read from the core and the databases
//   sync/, migrations/, demo/                                  the core
//   db/             pools, the embedded databases, the Runtime interface
//   config/         configuration (and errors.ts)
//
// A layer imports only layers below it. ink and react are imported in tui/ only.
const COMPOSITION = '^src/(commands/|dashboard/|cli\\.ts|background\\.ts|runtime\\.ts)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'tui-reads-through-the-read-side',
      comment: 'tui/ shows what the read side (src/status) returns: no database, sync engine, migration runner, API or composition code',
      severity: 'error',
      from: { path: '^src/tui/' },
      to: { path: [`^src/(db|sync|migrations|demo|api)/`, COMPOSITION] },
    },
    {
      name: 'read-side-below-the-surfaces',
      severity: 'error',
      from: { path: '^src/status/' },
      to: { path: ['^src/(tui|api)/', COMPOSITION] },
    },
    {
      name: 'api-below-the-composition',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: ['^src/tui/', COMPOSITION] },
    },
    {
      name: 'core-below-the-read-side',
      severity: 'error',
      from: { path: '^src/(sync|migrations|demo)/' },
      to: { path: ['^src/(status|tui|api)/', COMPOSITION] },
    },
    {
      name: 'db-below-the-core',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: ['^src/(sync|migrations|demo|status|tui|api)/', COMPOSITION] },
    },
    {
      name: 'config-at-the-bottom',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/config/', '^src/errors\\.ts$'] },
    },
    {
      name: 'ink-and-react-in-tui-only',
      comment: 'the core works without a screen',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/tui/' },
      to: { path: 'node_modules/(ink|react|react-reconciler|ink-testing-library)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^dist/' },
  },
};
