import { ConfigError } from '../../shared/errors';
import {
  DEFAULT_ZOOM_DOWNLOAD_HOSTS,
  checkUrl,
  isAllowedUrl,
  isLoopbackHost,
  parseHostAllowlist,
  parseRetryAfter,
} from '../../shared/adapters/zoom-download';

const zoom = parseHostAllowlist(DEFAULT_ZOOM_DOWNLOAD_HOSTS);
const loopback = parseHostAllowlist('127.0.0.1, localhost:8080');

describe('download host allowlist', () => {
  it.each([
    ['https://zoom.us/rec/download/abc', zoom],
    ['https://ssrweb.zoom.us/file/xyz?sig=1', zoom],
    ['https://us02web.zoom.us/rec/download/abc', zoom],
    ['HTTPS://ZOOM.US/x', zoom],
    ['https://zoom.us:443/rec/download/abc', zoom], // the default port, named
    ['https://zoom。us/x', zoom], // IDNA maps the ideographic full stop to '.', the connection goes to zoom.us too
    ['http://127.0.0.1:4711/rec/download/abc', loopback], // http allowed on loopback
    ['http://localhost:1/x', loopback], // entry port ignored
  ])('allows %s', (url, allowlist) => {
    expect(checkUrl(url, allowlist)).toMatchObject({ ok: true });
    expect(isAllowedUrl(url, allowlist)).toBe(true);
  });

  it.each([
    ['https://zoom.us@evil.example/', zoom, 'evil.example', /credentials|allowlist/],
    ['https://evil.example/zoom.us', zoom, 'evil.example', /allowlist/],
    ['https://zoom.us.evil.example/', zoom, 'zoom.us.evil.example', /allowlist/],
    ['https://zoom.us%2eevil.example/', zoom, 'zoom.us.evil.example', /allowlist/],
    ['https://evilzoom.us/', zoom, 'evilzoom.us', /allowlist/],
    ['https://zооm.us/', zoom, 'xn--zm-fmca.us', /allowlist/], // Cyrillic o's
    ['https://zoom.us./', zoom, 'zoom.us.', /allowlist/],
    ['https://user:pass@zoom.us/', zoom, 'zoom.us', /credentials/],
    ['http://zoom.us/rec/download/abc', zoom, 'zoom.us', /plain http/],
    ['http://169.254.169.254/latest/meta-data/', zoom, '169.254.169.254', /plain http/],
    ['https://169.254.169.254/', zoom, '169.254.169.254', /allowlist/],
    ['file:///etc/passwd', zoom, '', /scheme file:/],
    ['ftp://zoom.us/x', zoom, 'zoom.us', /scheme ftp:/],
    ['javascript:alert(1)', zoom, '', /scheme javascript:/],
    ['not a url', zoom, '', /not a valid URL/],
    ['https://[::1]/x', zoom, '[::1]', /allowlist/],
    ['https://zoom.us:81/rec/download/abc', zoom, 'zoom.us', /port 81 is not allowed/],
    ['https://ssrweb.zoom.us:8443/x', zoom, 'ssrweb.zoom.us', /port 8443 is not allowed/],
    ['https://zoom.us:80/x', zoom, 'zoom.us', /port 80 is not allowed/],
    ['http://127.0.0.1/x', zoom, '127.0.0.1', /allowlist/], // loopback relaxes the scheme, not the allowlist
    ['http://localhost:4711/x', parseHostAllowlist('127.0.0.1'), 'localhost', /allowlist/],
    ['http://127.0.0.2/x', parseHostAllowlist('127.0.0.1'), '127.0.0.2', /allowlist/],
  ])('refuses %s', (url, allowlist, host, reason) => {
    const result = checkUrl(url, allowlist);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.host).toBe(host);
      expect(result.reason).toMatch(reason);
    }
    expect(isAllowedUrl(url, allowlist)).toBe(false);
  });

  it('matches *.domain on subdomains only, and a bare name exactly', () => {
    const onlySub = parseHostAllowlist('*.zoom.us');
    expect(isAllowedUrl('https://ssrweb.zoom.us/', onlySub)).toBe(true);
    expect(isAllowedUrl('https://a.b.zoom.us/', onlySub)).toBe(true);
    expect(isAllowedUrl('https://zoom.us/', onlySub)).toBe(false);
    const onlyBare = parseHostAllowlist('zoom.us');
    expect(isAllowedUrl('https://ssrweb.zoom.us/', onlyBare)).toBe(false);
  });

  it('normalizes entries the way URLs are parsed (case, ports, IPv6, Unicode)', () => {
    const list = parseHostAllowlist(' Zoom.US:443 , ::1 , bücher.example ');
    expect([...list.exact].sort()).toEqual(['[::1]', 'xn--bcher-kva.example', 'zoom.us']);
    expect(isAllowedUrl('http://[::1]:9/x', list)).toBe(true);
    expect(isAllowedUrl('https://bücher.example/x', list)).toBe(true);
  });

  it.each(['', ' , ', '*', '*.', 'zoom.us/path', 'https://zoom.us', 'user@zoom.us', 'zo om.us'])('refuses the configuration %j', (spec) => {
    expect(() => parseHostAllowlist(spec)).toThrow(ConfigError);
  });

  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['[::1]', true],
    ['128.0.0.1', false],
    ['localhost.evil.example', false],
    ['169.254.169.254', false],
  ])('isLoopbackHost(%s) = %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it.each([
    ['7', 7000],
    [' 0 ', 0],
    ['Wed, 01 May 2024 12:00:30 GMT', 30_000],
    ['Wed, 01 May 2024 11:00:00 GMT', 0], // in the past: retry now
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [null, undefined],
  ])('%j -> %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
