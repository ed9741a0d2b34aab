package dev.cairn.web;

/**
 * A refusal with its HTTP status and the one line the client sees as {@code {"error": "..."}}.
 * Thrown anywhere in a request; the server turns it into the answer (never a stack trace).
 */
final class ApiError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;

  ApiError(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  int status() {
    return status;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, message);
  }

  static ApiError notFound(String message) {
    return new ApiError(404, message);
  }

  static ApiError conflict(String message) {
    return new ApiError(409, message);
  }
}
