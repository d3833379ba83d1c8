/**
 * The `code` of every error body. Its own module, without zod, so the HTTP edge (authorization, the error
 * boundary) can name codes at cold start while the schemas load on first use (lib/api/app.ts).
 */
export const ErrorCode = {
  ValidationError: "ValidationError",
  Unauthorized: "Unauthorized",
  Forbidden: "Forbidden",
  NotFound: "NotFound",
  MethodNotAllowed: "MethodNotAllowed",
  Conflict: "Conflict",
  PayloadTooLarge: "PayloadTooLarge",
  UnsupportedMediaType: "UnsupportedMediaType",
  InternalError: "InternalError",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
