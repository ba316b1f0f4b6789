// @ts-check
// The layer rules of src/ (docs/architecture.md). `npm run lint` runs them; a failure is a
// failing check like any other. Layers are listed from the bottom up: a module may import its
// own layer and the ones listed before it, never one listed after it.
'use strict';

/** Bottom to top. A name is a folder of src/, or a single file of src/ (errors.ts). */
const LAYERS = [
  ['util', 'errors.ts', 'version.ts'],
  ['crypto'],
  ['event'],
  ['redact'],
  ['access'],
  ['config'],
  ['pipeline'],
  ['integrity'],
  ['store'],
  ['search'],
  ['query'],
  ['policy'],
  ['log'],
  ['scheduler'],
  ['gdpr'],
  ['lifecycle'],
  ['detect'],
  ['witness'],
  ['doctor'],
  ['middleware'],
  ['service'],
  ['cli'],
  ['index.ts'],
];

/** A regular expression matching the modules of a layer. */
const pathOf = (names) =>
  `^src/(${names.map((n) => n.replace(/\./g, '\\.') + (n.endsWith('.ts') ? '$' : '/')).join('|')})`;

const upward = LAYERS.slice(0, -1).map((names, i) => ({
  name: `layer-${names[0].replace('.ts', '')}`,
  comment: `${names.join(', ')} must not import a layer above it (docs/architecture.md).`,
  severity: 'error',
  from: { path: pathOf(names) },
  to: { path: pathOf(LAYERS.slice(i + 1).flat()) },
}));

/** Backends of the store: reached from outside only through their face, index.ts. */
const BACKENDS = ['file', 'postgres'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-circular',
      comment: 'No import cycle, between files or through other files.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...BACKENDS.map((b) => ({
      name: `store-${b}-face`,
      comment: `Outside src/store/${b}/, import the ${b} backend only through src/store/${b}/index.ts.`,
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/store/${b}/` },
      to: { path: `^src/store/${b}/`, pathNot: `^src/store/${b}/index\\.ts$` },
    })),
    {
      name: 'store-interface-no-backend',
      comment:
        'src/store/store.ts is the interface every backend implements; it knows none of them.',
      severity: 'error',
      from: { path: '^src/store/[^/]+\\.ts$' },
      to: { path: '^src/store/[^/]+/' },
    },
    {
      name: 'search-face',
      comment: 'Outside src/search/, the search index is reached through src/search/index.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/search/' },
      to: { path: '^src/search/', pathNot: '^src/search/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
  },
};
