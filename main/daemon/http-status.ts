import type { ErrorCode } from '../../shared/contract/index.js'

/** How each typed error maps to HTTP; the body always carries the code itself. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_params: 400,
  invalid_address: 400,
  wrong_network: 400,
  unknown_method: 404,
  unauthorized: 401,
  forbidden: 403,
  wrong_passphrase: 403,
  not_found: 404,
  conflict: 409,
  invalid_state: 409,
  payload_too_large: 413,
  insufficient_funds: 422,
  rejected: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  timeout: 504,
}
