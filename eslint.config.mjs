// ESLint (flat config): typescript-eslint's strict, type-checked rules, minus the few the code
// base deliberately does not follow (each with its reason). Formatting is Prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/generated/**', 'data/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `map.get(key)!` after a check the compiler cannot follow is used on purpose and read
      // easily; noUncheckedIndexedAccess (tsconfig) is what makes it necessary.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and booleans in messages are what messages are made of.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      // `() => void promise` and `(x) => list.push(x)` callbacks are idiomatic here.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // type-graphql object types are classes that describe shapes; resolvers return plain
      // objects of those shapes, as type-graphql intends.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // Methods that implement a promise-returning interface stay `async` without awaiting, so
      // that a throw becomes a rejection as callers expect.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests and benchmarks read JSON bodies and log lines whose shape is what they assert.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
