import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNPROCESSABLE"
  | "RATE_LIMITED"
  | "UNAVAILABLE"
  | "NOT_IMPLEMENTED"
  | "INTERNAL";

/** The one place a code becomes a status. */
const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  NOT_IMPLEMENTED: 501,
  INTERNAL: 500,
};

export interface Issue {
  path: string;
  message: string;
}

/** Every error the API answers with; `app.onError` turns it into the JSON envelope. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly issues?: Issue[];
  /** Extra top-level fields some Remo clients read (e.g. `session_id`). */
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { issues?: Issue[]; extra?: Record<string, unknown> } = {}) {
    super(STATUS[code], { message });
    this.code = code;
    this.issues = opts.issues;
    this.extra = opts.extra;
  }
}

export const badRequest = (message: string, issues?: Issue[]) => new ApiError("BAD_REQUEST", message, { issues });
/** DRF's text: the SDK tests `detail == "Not found."` for missing datasets and sets. */
export const notFound = (message = "Not found.") => new ApiError("NOT_FOUND", message);
export const forbidden = (message = "You do not have permission to perform this action.") =>
  new ApiError("FORBIDDEN", message);
export const conflict = (message: string) => new ApiError("CONFLICT", message);
export const unauthorized = (message = "Authentication credentials were not provided.") =>
  new ApiError("UNAUTHORIZED", message);

export function errorBody(message: string, requestId: string, issues?: Issue[], extra?: Record<string, unknown>) {
  return {
    error: message,
    errors: issues && issues.length ? issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)) : [message],
    detail: message,
    ...(issues ? { issues } : {}),
    ...(extra ?? {}),
    request_id: requestId,
  };
}
