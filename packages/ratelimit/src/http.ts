// Entry point `@airl/ratelimit/http`: helpers for the HTTP edge of an app, such as the client
// address to limit anonymous calls by.
export { clientIp, type TrustedProxyOptions } from './client-ip';
