import { withBase } from '@airl/vitest-config';

// plain file reads: no Redis, no global setup
export default withBase({});
