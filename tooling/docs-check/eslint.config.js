import base from '@airl/eslint-config/base';

export default base;
