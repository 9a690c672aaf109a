import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig, parseDatabaseUrl } from '../../server/config.ts';

describe('config: environment parsing', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function fails(env: Record<string, string>): string {
    try {
      loadConfig({ DATA_DIR: dir, ...env });
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  }

  it('starts on the embedded defaults: SQLite under data/, mail on disk, Stripe off', () => {
    const c = loadConfig({ DATA_DIR: dir });
    expect(c.port).to.equal(3000);
    expect(c.baseUrl).to.equal('http://localhost:3000');
    expect(c.database).to.deep.equal({ client: 'better-sqlite3', filename: path.join(dir, 'verein.sqlite') });
    expect(c.smtpUrl).to.equal(undefined);
    expect(c.mailDir).to.equal(path.join(dir, 'mail'));
    expect(c.stripe.secretKey).to.equal(undefined);
    expect(c.seedDemo).to.equal(true);
    expect(c.secureCookies).to.equal(false);
    expect(c.trustProxy).to.equal(false);
  });

  it('generates a session secret once and keeps it under the data directory', () => {
    const a = loadConfig({ DATA_DIR: dir });
    const b = loadConfig({ DATA_DIR: dir });
    expect(a.sessionSecret).to.have.length.greaterThan(31);
    expect(b.sessionSecret).to.equal(a.sessionSecret);
    expect(fs.readFileSync(path.join(dir, 'session-secret'), 'utf8').trim()).to.equal(a.sessionSecret);
  });

  it('treats empty variables as unset (a copied .env.example works)', () => {
    const c = loadConfig({ DATA_DIR: dir, SMTP_URL: '', STRIPE_SECRET_KEY: '', DATABASE_URL: '', PORT: '' });
    expect(c.smtpUrl).to.equal(undefined);
    expect(c.port).to.equal(3000);
  });

  it('refuses a bad PORT with a message naming it', () => {
    expect(fails({ PORT: 'abc' })).to.match(/PORT/);
    expect(fails({ PORT: '70000' })).to.match(/PORT/);
  });

  it('refuses a DATABASE_URL that is neither sqlite: nor postgres://', () => {
    expect(fails({ DATABASE_URL: 'mysql://localhost/verein' })).to.contain('DATABASE_URL: must start with sqlite: or postgres://');
    expect(fails({ DATABASE_URL: 'sqlite:' })).to.contain('DATABASE_URL: sqlite: needs a file path');
  });

  it('reads sqlite: and postgres:// database URLs', () => {
    expect(parseDatabaseUrl('sqlite:/var/lib/verein/db.sqlite', dir)).to.deep.equal({ client: 'better-sqlite3', filename: '/var/lib/verein/db.sqlite' });
    expect(parseDatabaseUrl('sqlite://data/x.sqlite', dir)).to.deep.equal({ client: 'better-sqlite3', filename: 'data/x.sqlite' });
    expect(parseDatabaseUrl('postgres://u:p@db:5432/verein', dir)).to.deep.equal({ client: 'pg', connection: 'postgres://u:p@db:5432/verein' });
    expect(parseDatabaseUrl('postgresql://db/verein', dir)).to.deep.equal({ client: 'pg', connection: 'postgresql://db/verein' });
  });

  it('requires SESSION_SECRET in production and no demo data there', () => {
    expect(fails({ NODE_ENV: 'production' })).to.contain('SESSION_SECRET: required in production');
    expect(fails({ NODE_ENV: 'production', SESSION_SECRET: 'short' })).to.match(/SESSION_SECRET: must be at least 32 characters/);
    const c = loadConfig({ DATA_DIR: dir, NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40) });
    expect(c.sessionSecret).to.equal('x'.repeat(40));
    expect(c.seedDemo).to.equal(false);
    expect(fs.existsSync(path.join(dir, 'session-secret'))).to.equal(false);
  });

  it('checks the format of BASE_URL, SMTP_URL, STRIPE_SECRET_KEY and LOG_LEVEL', () => {
    expect(fails({ BASE_URL: 'verein.example' })).to.match(/BASE_URL: must be an absolute URL/);
    expect(fails({ SMTP_URL: 'mail.example:25' })).to.match(/SMTP_URL: must start with smtp:\/\/ or smtps:\/\//);
    expect(fails({ STRIPE_SECRET_KEY: 'pk_test_123' })).to.match(/STRIPE_SECRET_KEY: must start with sk_ or rk_/);
    expect(fails({ LOG_LEVEL: 'verbose' })).to.match(/LOG_LEVEL/);
    expect(fails({ SEED_DEMO: 'yes' })).to.match(/SEED_DEMO/);
  });

  it('lists every problem at once', () => {
    const msg = fails({ PORT: 'x', BASE_URL: 'nope', SMTP_URL: 'nope' });
    expect(msg).to.match(/^Invalid configuration:/);
    expect(msg).to.contain('PORT');
    expect(msg).to.contain('BASE_URL');
    expect(msg).to.contain('SMTP_URL');
  });

  it('derives secure cookies from an https BASE_URL and strips its trailing slash', () => {
    const c = loadConfig({ DATA_DIR: dir, BASE_URL: 'https://mitglieder.chemienetzwerk-harz.example/' });
    expect(c.baseUrl).to.equal('https://mitglieder.chemienetzwerk-harz.example');
    expect(c.secureCookies).to.equal(true);
  });

  it('reads TRUST_PROXY and SEED_DEMO', () => {
    expect(loadConfig({ DATA_DIR: dir, TRUST_PROXY: 'true' }).trustProxy).to.equal(true);
    expect(loadConfig({ DATA_DIR: dir, TRUST_PROXY: 'loopback' }).trustProxy).to.equal('loopback');
    expect(loadConfig({ DATA_DIR: dir, SEED_DEMO: 'never' }).seedDemo).to.equal(false);
  });
});
