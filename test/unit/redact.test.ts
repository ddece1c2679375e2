import { afterEach, describe, expect, it } from 'vitest';
import { clearSecrets, describeUrl, redact, redactError, registerSecret, registerUrlSecrets } from '../../src/config/redact.js';
import { dbError } from '../../src/db/errors.js';

afterEach(() => clearSecrets());

describe('redact', () => {
  it.each([
    ['postgres://app:s3cr3t@db:26257/x', 'postgres://app:***@db:26257/x'],
    ['postgresql://app:p%40ss%2Fword@db/x?sslmode=verify-full', 'postgresql://app:***@db/x?sslmode=verify-full'],
    ['failed to connect to postgres://u:a:b:c@h/d: refused', 'failed to connect to postgres://u:***@h/d: refused'],
    ['host=db user=app password=s3cr3t dbname=x', 'host=db user=app password=*** dbname=x'],
    ["host=db password='with space' dbname=x", 'host=db password=*** dbname=x'],
    ['postgres://u@h/d?sslpassword=k3y&sslmode=require', 'postgres://u@h/d?sslpassword=***&sslmode=require'],
    ['Authorization: Bearer abc.def-123', 'Authorization: Bearer ***'],
    ['postgres://app@db/x (no password)', 'postgres://app@db/x (no password)'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  // Issue 12, case 12: text that does not parse as a URL must lose its password too. Each case is
  // the shape, not a registered secret (nothing registered here), so only the pattern layer works.
  it.each([
    ['a "/" in the password', '"postgres://postgres:s3cr/etpw@127.0.0.1:5432/db" is not a URL', ['s3cr', 'etpw']],
    ['a "#" in the password', 'bad postgres://app:pa#ss9word@db/x here', ['pa#ss9', 'ss9word']],
    ['a "?" in the password', 'bad postgres://app:pa?ss9word@db/x here', ['pa?ss9', 'ss9word']],
    ['an "@" in the password', 'bad postgres://app:p@ss9word@db/x here', ['p@ss9', 'ss9word']],
    ['several specials at once', 'postgresql://app:a/b?c#d@e:f9@db:26257/x', ['a/b', 'c#d', 'e:f9']],
    ['no "//" after the scheme', 'postgresql//user:secret9x@127.0.0.1/db', ['secret9x']],
    ['no slashes at all', 'postgres:user:secret9x@127.0.0.1/db', ['secret9x']],
    ['one slash', 'postgres:/user:secret9x@127.0.0.1/db', ['secret9x']],
    ['inside JSON, next to another "@"', '{"error":"connect postgres://u:s3cr/et9@h/d failed","user":"a@b"}', ['s3cr', 'et9']],
    ['a double-quoted conninfo password', 'host=db password="hunter2 x" dbname=x', ['hunter2']],
    ['a backslash-escaped space in an unquoted conninfo password', 'host=db password=hunt\\ er2 dbname=x', ['hunt', 'er2']],
    ['PGPASSWORD in an environment dump', 'PGHOST=db PGPASSWORD=hunter2x PGUSER=app', ['hunter2x']],
    ['a JSON password field', '{"host":"db","password":"hunter2x","sslpassword":"k3y9xx"}', ['hunter2x', 'k3y9xx']],
    ['a percent-encoded query password', 'postgres://u@h/d?sslmode=require&password=p%40ss9x', ['p%40ss9x']],
  ])('%s', (_what, input, fragments) => {
    const out = redact(input);
    for (const f of fragments) expect(out).not.toContain(f);
    expect(out).toContain('***');
  });

  it('keeps what is not a password: the documented URL form, user and host', () => {
    const form = 'expected postgres://user[:password]@host[:port]/database[?sslmode=verify-full]';
    expect(redact(form)).toBe(form);
    expect(redact('failed: postgres://app:s3cr/et9@db.example.com:26257/x')).toBe('failed: postgres://app:***@db.example.com:26257/x');
    expect(redact('Error: connect ECONNREFUSED 127.0.0.1:5432')).toBe('Error: connect ECONNREFUSED 127.0.0.1:5432');
  });

  it('registers the password of a configured value that is not a URL, in every form it may be echoed', () => {
    registerUrlSecrets('postgres://postgres:s3cr/etpw@127.0.0.1:5432/db');
    registerUrlSecrets('postgresql//user:Other9pw@127.0.0.1/db');
    registerUrlSecrets('postgres://app:12345/x9z@db/x'); // parses (host app, port 12345, path /x9z@db/x)
    registerUrlSecrets("host=db password='q u\\'ote9' dbname=x");
    registerUrlSecrets('postgres://u@h/d?password=Qp%26x9w');
    registerUrlSecrets('postgres://u:bad%ZZpct9@h/d?password=after9bad');
    const echoed = ['s3cr/etpw', 'Other9pw', '12345/x9z', "q u'ote9", 'Qp&x9w', 'Qp%26x9w', 'bad%ZZpct9', 'after9bad'];
    const out = redact(`got ${echoed.join(' | ')} end`);
    expect(out).toBe(`got ${echoed.map(() => '***').join(' | ')} end`);
  });

  it('a secret with a quote or a backslash is masked inside JSON text too (API bodies are redacted after JSON.stringify)', () => {
    registerSecret('pa"ss\\w9rd');
    expect(redact(JSON.stringify({ error: 'auth failed for pa"ss\\w9rd' }))).toBe('{"error":"auth failed for ***"}');
  });

  it('masks registered secrets wherever they appear, raw and percent-decoded', () => {
    registerUrlSecrets('postgres://app:p%40ss-w0rd@db/x');
    registerSecret('tok-0123456789abcdef');
    expect(redact('auth failed with p@ss-w0rd and p%40ss-w0rd; token tok-0123456789abcdef')).toBe('auth failed with *** and ***; token ***');
  });

  it('redacts driver errors wrapped for people, keeping the SQLSTATE', () => {
    registerUrlSecrets('postgres://app:Zq9-secret@127.0.0.1:1/x');
    const driverError = Object.assign(new Error('connect failed for postgres://app:Zq9-secret@127.0.0.1:1/x'), { code: '28P01' });
    const wrapped = dbError(driverError, 'cloud', 'connect');
    expect(wrapped.message).not.toContain('Zq9-secret');
    expect(wrapped.message).toContain('cloud database');
    expect(wrapped.sqlState).toBe('28P01');
    expect(redactError(driverError)).not.toContain('Zq9-secret');
  });

  it('does not backtrack catastrophically on long inputs (every log line and WebSocket event passes here)', () => {
    // the unbounded regex it replaces took ~650 ms on 16 KB and grows with the square of the length
    const t0 = performance.now();
    redact('x'.repeat(200_000));
    redact(`${'a'.repeat(300)}:`.repeat(500));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(redact(`${'y'.repeat(5000)} postgres://u:pw123@h/d`)).toContain('postgres://u:***@h/d');
  });

  it('describeUrl gives user@host:port/db and nothing else', () => {
    expect(describeUrl('postgres://app:s3cr3t@db.example.com:26257/defaultdb?sslmode=verify-full')).toBe('app@db.example.com:26257/defaultdb');
    expect(describeUrl('postgres://127.0.0.1')).toBe('127.0.0.1:5432/postgres');
    expect(describeUrl('::nonsense')).toBe('(invalid URL)');
  });
});
