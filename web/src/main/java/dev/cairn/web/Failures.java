package dev.cairn.web;

import com.fasterxml.jackson.core.JacksonException;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Every failure as one sentence for the client: what went wrong and what to do, never an exception
 * class, a stack trace or a folder's full path (those go to the server's log).
 */
final class Failures {
  /** The statuses the server may answer on its own (besides the handlers'), all made JSON. */
  static final int[] STATUSES = {
    400, 401, 403, 404, 405, 406, 408, 409, 411, 413, 414, 415, 416, 422, 429, 431, 500, 501, 503
  };

  private Failures() {}

  /** The answer for an exception out of a handler; {@code run} is the run asked for, or null. */
  static ApiError answer(Throwable e, String run) {
    String of = run == null ? "" : " of run '" + RunCatalog.printable(run) + "'";
    if (e instanceof ApiError a) {
      return a;
    }
    if (e instanceof UncheckedIOException u && u.getCause() != null) {
      return answer(u.getCause(), run);
    }
    if (e instanceof JacksonException) {
      return new ApiError(
          503,
          "a file"
              + of
              + " is not complete JSON (being written, or damaged); try again in a moment, and"
              + " if it stays so, look at the run folder");
    }
    if (e instanceof NoSuchFileException n) {
      return new ApiError(
          404,
          "a file"
              + of
              + " is missing ("
              + lastName(n.getFile())
              + "): the run may have been moved or deleted, or a link in it points nowhere");
    }
    if (e instanceof AccessDeniedException a) {
      return new ApiError(
          403,
          "the dashboard may not read a file"
              + of
              + " ("
              + lastName(a.getFile())
              + "); check the run folder's permissions");
    }
    if (e instanceof IOException) {
      return new ApiError(
          503,
          "reading the files" + of + " failed; try again, and see the server's log if it persists");
    }
    return new ApiError(
        500, "internal error answering this request; the server's log has the details");
  }

  /** The sentence for a status answered without a handler's own message. */
  static String sentence(int status, Context ctx) {
    String what = ctx.method() + " " + RunCatalog.printable(ctx.path());
    return switch (status) {
      case 404 -> "no such page or endpoint: " + what;
      case 405 -> "method not allowed: " + what;
      case 413, 431 -> "request too large: " + what;
      default -> "request refused (HTTP " + status + "): " + what;
    };
  }

  /** The last name of a path, so that an answer never spells out where the runs live. */
  private static String lastName(String file) {
    if (file == null) {
      return "unknown file";
    }
    try {
      Path name = Path.of(file).getFileName();
      return name == null ? "unknown file" : RunCatalog.printable(name.toString());
    } catch (RuntimeException e) {
      return "unknown file";
    }
  }
}
