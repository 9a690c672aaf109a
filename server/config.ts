import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { z } from 'zod';

/** Typed configuration from the environment (and `.env`), validated at start. */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BASE_URL: z.url({ message: 'must be an absolute URL such as http://localhost:3000' }).optional(),
  DATA_DIR: z.string().min(1).default('data'),
  DATABASE_URL: z.string().optional(),
  SESSION_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, { message: 'must start with smtp:// or smtps://' })
    .optional(),
  MAIL_FROM: z.string().optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_/, { message: 'must start with sk_ or rk_' }).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_URL: z.url().optional(),
  STRIPE_CONCURRENCY: z.coerce.number().int().min(1).max(25).default(4),
  STRIPE_MAX_RPS: z.coerce.number().min(0).max(10000).default(90),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEED_DEMO: z.enum(['auto', 'never']).default('auto'),
  TRUST_PROXY: z.string().optional(),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  baseUrl: string;
  dataDir: string;
  database: { client: 'better-sqlite3'; filename: string } | { client: 'pg'; connection: string; searchPath?: string[] };
  sessionSecret: string;
  secureCookies: boolean;
  smtpUrl?: string;
  mailFrom?: string;
  mailDir: string;
  stripe: { secretKey?: string; webhookSecret?: string; apiUrl?: string; concurrency?: number; /** requests per second at most; 0: no limit */ maxRps?: number };
  logLevel: Env['LOG_LEVEL'];
  seedDemo: boolean;
  trustProxy: string | number | boolean;
}

export class ConfigError extends Error {}

function blankToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) out[k] = v === '' ? undefined : v;
  return out;
}

export function parseDatabaseUrl(url: string | undefined, dataDir: string): Config['database'] {
  if (!url) return { client: 'better-sqlite3', filename: path.join(dataDir, 'verein.sqlite') };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { client: 'pg', connection: url };
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!filename) throw new ConfigError('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:data/verein.sqlite');
    return { client: 'better-sqlite3', filename };
  }
  throw new ConfigError('DATABASE_URL: must start with sqlite: or postgres://');
}

/** Reads the session secret, generating and keeping one under data/ outside production. */
function sessionSecret(given: string | undefined, env: string, dataDir: string): string {
  if (given) return given;
  if (env === 'production') throw new ConfigError('SESSION_SECRET: required in production (at least 32 characters)');
  if (env === 'test') return crypto.randomBytes(32).toString('hex');
  const file = path.join(dataDir, 'session-secret');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(blankToUndefined(rawEnv));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const baseUrl = e.BASE_URL ?? `http://localhost:${e.PORT}`;
  // a hop count is a number for Express (the string '1' would be read as the address 0.0.0.1)
  const trust = e.TRUST_PROXY === undefined ? false : e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY === 'false' ? false : /^\d+$/.test(e.TRUST_PROXY) ? Number(e.TRUST_PROXY) : e.TRUST_PROXY;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    dataDir,
    database: parseDatabaseUrl(e.DATABASE_URL, dataDir),
    sessionSecret: sessionSecret(e.SESSION_SECRET, e.NODE_ENV, dataDir),
    secureCookies: baseUrl.startsWith('https://'),
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    mailDir: path.join(dataDir, 'mail'),
    stripe: { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiUrl: e.STRIPE_API_URL, concurrency: e.STRIPE_CONCURRENCY, maxRps: e.STRIPE_MAX_RPS },
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO === 'auto' && e.NODE_ENV !== 'production',
    trustProxy: trust,
  };
}

// h/harden: settings that start but are wrong for the deployment, said at start and in /healthz
/** Warnings about the configuration (empty when it fits). */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  if (config.trustProxy === true) {
    out.push('TRUST_PROXY=true trusts every X-Forwarded-For hop: any client can choose its IP address and bypass the sign-in limits. Behind one reverse proxy set TRUST_PROXY=1.');
  }
  if (config.secureCookies && (config.trustProxy === false || config.trustProxy === 0)) {
    out.push('BASE_URL is https:// but TRUST_PROXY is not set: behind a reverse proxy that ends TLS every sign-in fails (the secure session cookie is never sent). Behind one reverse proxy set TRUST_PROXY=1.');
  }
  return out;
}
