// The pieces the gate is made of: the session cookie, the same-origin check, the client address
// for the sign-in limit, and where a sign-in may send the browser.
import { checkSameOrigin } from '@airl/creators/same-origin';
import { describe, expect, it } from 'vitest';

import { clientAddress, UNKNOWN_ADDRESS } from '~/server/client-address';
import { safeNext } from '~/server/guard';
import { sessionCookieOptions } from '~/server/session';

describe('the session cookie', () => {
  it('is httpOnly, SameSite=Strict and gone after 8 hours', () => {
    expect(sessionCookieOptions(false)).toEqual({ httpOnly: true, sameSite: 'strict', secure: false, path: '/', maxAge: 8 * 3600 });
    expect(sessionCookieOptions(true).secure).toBe(true);
  });
});

describe('checkSameOrigin', () => {
  const h = (init: Record<string, string>) => new Headers(init);
  it('accepts a POST from the app itself (directly or behind a proxy)', () => {
    expect(checkSameOrigin(h({ origin: 'http://127.0.0.1:3001', host: '127.0.0.1:3001' }))).toEqual({ ok: true });
    expect(checkSameOrigin(h({ origin: 'https://admin.example.com', host: 'internal:3001', 'x-forwarded-host': 'admin.example.com', 'sec-fetch-site': 'same-origin' }))).toEqual({ ok: true });
  });

  it('refuses another site, an opaque or missing Origin, and cross-site fetch metadata', () => {
    expect(checkSameOrigin(h({ origin: 'https://evil.example', host: 'admin.example.com' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/evil\.example/) as string });
    expect(checkSameOrigin(h({ origin: 'http://admin.example.com:8080', host: 'admin.example.com' })).ok).toBe(false);
    expect(checkSameOrigin(h({ origin: 'null', host: 'admin.example.com' }))).toEqual({ ok: false, reason: 'no Origin header' });
    expect(checkSameOrigin(h({ host: 'admin.example.com' }))).toEqual({ ok: false, reason: 'no Origin header' });
    expect(checkSameOrigin(h({ origin: 'not a url', host: 'admin.example.com' }))).toEqual({ ok: false, reason: 'malformed Origin header' });
    expect(checkSameOrigin(h({ origin: 'https://admin.example.com', host: 'admin.example.com', 'sec-fetch-site': 'cross-site' }))).toEqual({ ok: false, reason: 'cross-site request' });
  });
});

describe('clientAddress', () => {
  const xff = (value: string) => new Headers({ 'x-forwarded-for': value });
  it('trusts only the entries the declared proxies wrote', () => {
    expect(clientAddress(xff('6.6.6.6, 203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientAddress(xff('6.6.6.6, 203.0.113.7, 10.0.0.2'), 2)).toBe('203.0.113.7');
    expect(clientAddress(xff('[2001:DB8::1]:443'), 1)).toBe('2001:db8::1');
    expect(clientAddress(xff('203.0.113.7:5678'), 1)).toBe('203.0.113.7');
  });

  it('with TRUSTED_PROXY_COUNT=0, or a forged short chain, every client shares one address', () => {
    expect(clientAddress(xff('203.0.113.7'), 0)).toBe(UNKNOWN_ADDRESS);
    expect(clientAddress(xff('203.0.113.7'), 2)).toBe(UNKNOWN_ADDRESS);
    expect(clientAddress(xff('not-an-ip'), 1)).toBe(UNKNOWN_ADDRESS);
    expect(clientAddress(new Headers(), 1)).toBe(UNKNOWN_ADDRESS);
  });
});

describe('safeNext', () => {
  it('only lets a sign-in go back to a path of this app', () => {
    expect(safeNext('/creators/creator-ava')).toBe('/creators/creator-ava');
    expect(safeNext('/creators?id=x')).toBe('/creators?id=x');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', undefined, ['/'], '/a b']) expect(safeNext(bad)).toBe('/');
  });
});
