import base from '@airl/eslint-config/base';

export default [
  ...base,
  {
    // vitest types asymmetric matchers (expect.stringContaining, ...) as any
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
];
