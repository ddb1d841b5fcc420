// Runs once when the server starts (not during `next build`). The Node-only work lives in its own
// module so the edge bundle never sees it.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') await (await import('./instrumentation-node')).start();
}
