// What `server-only` resolves to in tests: nothing. The package throws unless it is resolved
// under the `react-server` condition (as Next.js does for server code); vitest resolves it as
// plain Node, where the apps' server modules rightly run.
export {};
