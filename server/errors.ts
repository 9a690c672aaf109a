/** An error with an HTTP status and a stable code; branch on the code, never on the message. */
export class AppError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message?: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message ?? code);
  }
}

export class NotFoundError extends AppError {
  constructor(code = 'not_found') {
    super(404, code);
  }
}
export class ForbiddenError extends AppError {
  constructor(code = 'forbidden') {
    super(403, code);
  }
}
export class ConflictError extends AppError {
  constructor(code = 'conflict', details?: Record<string, unknown>) {
    super(409, code, code, details);
  }
}

/** Field errors for a form: field name → i18n key (or message). */
export type FieldErrors = Record<string, string>;

export class ValidationError extends AppError {
  constructor(public readonly fields: FieldErrors) {
    super(422, 'validation_failed');
  }
}
