/**
 * Typed errors with a stable code and HTTP status, mapped in one place
 * (http/http-errors.ts) to Vault's `{"errors":[...]}` envelope.
 * Messages must never contain a secret value.
 */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** the `errors` array sent to the client; defaults to [message] */
    readonly errors: string[] = [message],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: invalid request, handler error, CAS mismatch, validation failure. */
export class BadRequestError extends VaultError {
  constructor(message: string) {
    super(400, 'bad_request', message);
  }
}

/** 403 in Vault's multierror shape. */
export class PermissionDeniedError extends VaultError {
  constructor(detail = 'permission denied') {
    super(403, 'permission_denied', detail, [`1 error occurred:\n\t* ${detail}\n\n`]);
  }
}

/** 404 with an empty `errors` array, as Vault answers a missing read or empty list. */
export class NotFoundError extends VaultError {
  constructor(message = 'not found') {
    super(404, 'not_found', message, []);
  }
}

export class MethodNotAllowedError extends VaultError {
  constructor() {
    super(405, 'method_not_allowed', 'unsupported operation');
  }
}

export class UnsupportedMediaTypeError extends VaultError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

export class PayloadTooLargeError extends VaultError {
  constructor() {
    super(413, 'request_too_large', 'http: request body too large');
  }
}

/** 503: sealed or not initialised. */
export class UnavailableError extends VaultError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}

/** 500: storage failure, AEAD failure, bug. The message is generic on purpose. */
export class InternalError extends VaultError {
  constructor(message = 'internal error') {
    super(500, 'internal', message);
  }
}

/** Stored data failed authentication (tampered or misplaced ciphertext). */
export class IntegrityError extends InternalError {
  constructor(key: string) {
    super(`integrity check failed for stored record ${key}`);
  }
}

/** `Field validation failed: error converting input for field "<f>": <why>` */
export class FieldValidationError extends BadRequestError {
  constructor(field: string, why: string) {
    super(`Field validation failed: error converting input for field "${field}": ${why}`);
  }
}
