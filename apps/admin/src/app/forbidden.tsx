import Link from 'next/link';

// what a refused action (no session, an ended one, or not from this app's pages) leads to
export default function Forbidden() {
  return (
    <main>
      <h1>Not allowed</h1>
      <p className="notice" data-testid="forbidden">
        Your session has ended, or this request did not come from this app&apos;s pages. Nothing was changed.
      </p>
      <p>
        <Link href="/sign-in">Sign in again</Link>
      </p>
    </main>
  );
}
