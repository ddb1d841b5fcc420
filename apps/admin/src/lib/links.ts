/** The page of a creator: ids may hold any character, so they are encoded. */
export const creatorHref = (id: string): string => `/creators/${encodeURIComponent(id)}`;

/** A dynamic route segment as typed: Next.js hands it over still percent-encoded. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
