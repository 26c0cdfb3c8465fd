/** The one place errors become Vault's `{"errors":[...]}` answers. */
import { InternalError, VaultError } from '../errors.js';

export interface ErrorAnswer {
  status: number;
  body: { errors: string[] };
}

const GENERIC_500 = '1 error occurred:\n\t* internal error\n\n';

/** Maps any thrown value to a status and Vault's error body. Unknown errors become a generic 500. */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  // An internal error's message (an integrity failure names the storage key:
  // mount uuid, record layout) is for the server log, not the client.
  if (err instanceof InternalError) return { status: 500, body: { errors: [GENERIC_500] } };
  if (err instanceof VaultError) return { status: err.status, body: { errors: err.errors } };
  const code = (err as { code?: string } | null)?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { errors: ['http: request body too large'] } };
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { status: 400, body: { errors: ['failed to parse JSON input'] } };
  }
  const status = (err as { statusCode?: number } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, body: { errors: ['invalid request'] } };
  return { status: 500, body: { errors: [GENERIC_500] } };
}
