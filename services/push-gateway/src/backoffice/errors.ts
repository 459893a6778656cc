import type { BackofficeError, BackofficeErrorCode } from '@croupier/shared/contracts';

/** A back office request that failed with a code the page maps; the message is for the staff member. */
export class BackofficeRequestError extends Error {
  constructor(
    readonly code: BackofficeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackofficeRequestError';
  }

  toJSON(): BackofficeError {
    return { code: this.code, message: this.message };
  }
}
