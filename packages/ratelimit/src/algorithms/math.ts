// Integer helpers written so that the Lua scripts can do exactly the same operations.

/** floor(a / b) for integers, exact even where the double quotient rounds up to an integer. */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}
