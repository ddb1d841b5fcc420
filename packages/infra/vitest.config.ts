import { withBase } from '@airl/vitest-config';

// synthesis only: no servers, no AWS
export default withBase({});
