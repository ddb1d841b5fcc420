import Link from 'next/link';

// what a refused action (not from this app's pages, or demo sign-in off) leads to
export default function Forbidden() {
  return (
    <main>
      <h1>Not allowed</h1>
      <p className="notice" data-testid="forbidden">
        This request did not come from this app&apos;s pages, or it is turned off here. Nothing was changed.
      </p>
      <p>
        <Link href="/sign-in">Back to sign-in</Link>
      </p>
    </main>
  );
}
