/**
 * The structured logger (pino). Secret-bearing fields are redacted by path as
 * a second line of defence; the first is never passing values to the logger.
 */
import pino, { type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'secrets-sync' },
      redact: {
        paths: ['*.token', '*.client_token', '*.secret_access_key', '*.access_key_id', '*.password', '*.value', '*.data', '*.credentials'],
        censor: '*****',
      },
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
