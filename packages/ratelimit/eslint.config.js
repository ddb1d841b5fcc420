import base from '@airl/eslint-config/base';

// test/consumer is compiled in the consumer project the test creates, against the packed tarball
export default [{ ignores: ['test/consumer/**'] }, ...base];
