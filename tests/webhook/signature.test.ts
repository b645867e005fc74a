import { checkSignatureHeaders, signatureFor, urlValidationAnswer, verifySignature } from '../../services/webhook/signature';

// Vectors computed independently:
//   printf 'v0:1700000000:{"event":"x"}' | openssl dgst -sha256 -hmac secret
//   printf 'abc123' | openssl dgst -sha256 -hmac secret
const BODY = Buffer.from('{"event":"x"}');
const GOOD = 'v0=aaaddc2382ce58a607b298ab6361ae1667ddff72c622b1993fd76c02908634c3';
const NOW_MS = 1_700_000_000_000;
const check = (signature: string | undefined, timestamp: string | undefined, body = BODY, secret = 'secret') =>
  verifySignature({ rawBody: body, signature, timestamp }, secret, { nowMs: NOW_MS, maxSkewSeconds: 300 });

describe('Zoom webhook signature', () => {
  it('matches an independently computed HMAC over the raw bytes', () => {
    expect(signatureFor('secret', '1700000000', BODY)).toBe(GOOD);
    expect(check(GOOD, '1700000000')).toEqual({ ok: true });
  });

  it.each([
    ['missing signature', undefined, '1700000000', /missing x-zm-signature/],
    ['missing timestamp', GOOD, undefined, /missing x-zm-request-timestamp/],
    ['timestamp not a number', GOOD, '17e8', /not a Unix time/],
    ['stale timestamp', signatureFor('secret', '1699999000', BODY), '1699999000', /from now/],
    ['future timestamp', signatureFor('secret', '1700001000', BODY), '1700001000', /from now/],
    ['wrong prefix', GOOD.replace('v0=', 'v1='), '1700000000', /not v0= followed by 64 hex digits/],
    ['uppercase hex', `v0=${GOOD.slice(3).toUpperCase()}`, '1700000000', /not v0= followed by 64 hex digits/],
    ['truncated', GOOD.slice(0, -2), '1700000000', /not v0= followed by 64 hex digits/],
    ['a 15 KB header', `v0=${'a'.repeat(15_000)}`, '1700000000', /not v0= followed by 64 hex digits/],
    ['another secret', signatureFor('other', '1700000000', BODY), '1700000000', /does not match/],
    ['signed for another timestamp', signatureFor('secret', '1700000001', BODY), '1700000000', /does not match/],
  ])('refuses %s', (_case, signature, timestamp, reason) => {
    const result = check(signature, timestamp);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });

  it('checks headers and timestamp without the body, before it is read', () => {
    const options = { nowMs: NOW_MS, maxSkewSeconds: 300 };
    expect(checkSignatureHeaders({ signature: GOOD, timestamp: '1700000000' }, options)).toEqual({ ok: true });
    expect(checkSignatureHeaders({ signature: GOOD, timestamp: '1600000000' }, options)).toMatchObject({ ok: false, reason: expect.stringMatching(/from now/) });
    expect(checkSignatureHeaders({ signature: undefined, timestamp: '1700000000' }, options)).toMatchObject({ ok: false });
  });

  it('refuses a body changed by re-serialization', () => {
    const reserialized = Buffer.from(JSON.stringify(JSON.parse('{ "event" : "x" }')));
    const signedOriginal = signatureFor('secret', '1700000000', '{ "event" : "x" }');
    expect(check(signedOriginal, '1700000000', reserialized).ok).toBe(false);
  });

  it('accepts a timestamp inside the window on either side', () => {
    for (const ts of ['1699999701', '1700000299']) {
      expect(check(signatureFor('secret', ts, BODY), ts)).toEqual({ ok: true });
    }
  });
});

describe('endpoint.url_validation answer', () => {
  it('is the hex HMAC-SHA256 of the plain token under the secret', () => {
    expect(urlValidationAnswer('abc123', 'secret')).toEqual({
      plainToken: 'abc123',
      encryptedToken: '5ae5ac802a1a5c94fb683e1bfa121f9f700a26995213ff2fc1c503eb43ec71c6',
    });
  });
});
