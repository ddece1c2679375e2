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
