import pino from 'pino';

/**
 * JSON logs. Redaction is a safety net: code must not log personal data,
 * passwords or tokens in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'email', '*.email', 'req.headers.cookie', 'headers.cookie'],
      censor: '[redacted]',
    },
  }, destination ?? pino.destination(1));
}
export type Logger = ReturnType<typeof createLogger>;
