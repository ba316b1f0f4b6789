// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import regexp from 'eslint-plugin-regexp';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/', 'coverage/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  regexp.configs['flat/recommended'],
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Every regular expression runs on hostile input: no super-linear backtracking.
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
      'no-eval': 'error',
      'no-new-func': 'error',
      'no-implied-eval': 'off',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  // Short files and functions in src/ (docs/architecture.md): raw lines, comments included.
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 100 }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' },
          ],
        },
      ],
    },
  },
  // Plain JavaScript, not type-checked: the root's config files, bin/, and the auditor's
  // standalone proof checker (test/fixtures/check-proof.mjs, also in docs/integrity.md).
  // The admin page (web/, DOM types from web/tsconfig.json): markup is never parsed, so record
  // content cannot become HTML (test/web/source.test.ts checks the same by grep).
  {
    files: ['web/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Set text (textContent, dom.ts h()), never markup.' },
        { property: 'outerHTML', message: 'Set text (textContent, dom.ts h()), never markup.' },
        { property: 'insertAdjacentHTML', message: 'Never parse markup.' },
        { object: 'document', property: 'write', message: 'Never parse markup.' },
      ],
    },
  },
  {
    files: ['*.js', 'bin/*.js', 'scripts/*.mjs', 'test/fixtures/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['*.js', 'bin/*.js', 'scripts/*.mjs', 'test/fixtures/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  // The layer rules' configuration: CommonJS, as dependency-cruiser loads it.
  {
    files: ['.dependency-cruiser.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['.dependency-cruiser.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly' },
    },
  },
);
