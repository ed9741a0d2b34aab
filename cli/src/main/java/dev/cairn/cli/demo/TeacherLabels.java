package dev.cairn.cli.demo;

import dev.cairn.cache.Answer;
import dev.cairn.cache.CachedCalls;
import dev.cairn.cache.OpenAiChat;
import dev.cairn.cache.Price;
import dev.cairn.cache.ResponseCache;
import dev.cairn.cache.RetrySettings;
import dev.cairn.events.EventType;
import dev.cairn.run.Run;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Labels the demo's training examples with a teacher model behind an OpenAI-compatible
 * chat-completions endpoint: one short prompt per example describing it, the answer is the class
 * index as text. Every answer goes through the response cache (the run's cache/responses.db unless
 * another file, or a PostgreSQL database shared by several jobs, is given), so a rerun after a
 * crash pays only for the answers it never received.
 */
public final class TeacherLabels {
  /**
   * Where and how to ask.
   *
   * @param cache a cache file or a postgresql:// URI ({@link ResponseCache#open(String)}); null for
   *     the run's own file
   * @param retry retries, circuit breaker and the deadline of one answer (--teacher-deadline)
   */
  public record Teacher(
      URI url,
      String model,
      String apiKey,
      Price price,
      String cache,
      int threads,
      RetrySettings retry) {
    public Teacher {
      if (threads < 1 || threads > 64) {
        throw new IllegalArgumentException("--teacher-threads must be 1 to 64, was " + threads);
      }
      java.util.Objects.requireNonNull(retry, "retry");
    }
  }

  private TeacherLabels() {}

  static String prompt(SyntheticData data, int i) {
    StringBuilder b = new StringBuilder();
    b.append("Classify example ").append(i).append(" into one of ").append(data.classes);
    b.append(" classes (0-").append(data.classes - 1).append("). Features:");
    for (int j = 0; j < data.features; j++) {
      b.append(j == 0 ? " " : ",")
          .append(String.format(Locale.ROOT, "%.3f", data.trainX[i * data.features + j]));
    }
    b.append(". Answer with the class number only.");
    return b.toString();
  }

  /** Replaces the training labels with the teacher's; logs the calls' counts and cost. */
  static void label(SyntheticData data, Teacher t, Run run, long step, java.io.PrintWriter out)
      throws IOException {
    Path file = run.dir().resolve("cache").resolve("responses.db");
    try (ResponseCache cache =
        t.cache() != null ? ResponseCache.open(t.cache()) : ResponseCache.open(file)) {
      CachedCalls calls = new CachedCalls(cache, t.retry(), run.events());
      OpenAiChat chat =
          new OpenAiChat(t.url(), t.apiKey(), t.model(), t.price(), calls, t.retry().timeout());
      ExecutorService pool = Executors.newFixedThreadPool(t.threads());
      try {
        List<Future<Integer>> answers = new ArrayList<>(data.trainSize);
        for (int i = 0; i < data.trainSize; i++) {
          int n = i;
          answers.add(pool.submit(() -> parse(chat.ask(prompt(data, n), 4), n, data.classes)));
        }
        for (int i = 0; i < data.trainSize; i++) {
          data.trainY[i] = answers.get(i).get();
        }
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        throw c instanceof IOException io ? io : new IOException(String.valueOf(c.getMessage()), c);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while labelling", e);
      } finally {
        // Every worker has stopped (and written its events) before the run's logs can close: a
        // failure ends the labelling, the others are interrupted quietly, and none is left behind.
        pool.shutdownNow();
        try {
          if (!pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
            run.events().emit(EventType.WARNING, step, "teacher calls did not stop within 1 min");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      var s = calls.stats();
      run.log(step, s.metrics("teacher"));
      String summary =
          String.format(
              Locale.ROOT,
              "teacher labels: %d answers, %d from the cache, %d paid (cost %.4f, saved %.4f),"
                  + " %d retries; cache %s",
              data.trainSize,
              s.hits(),
              s.paid(),
              s.cost(),
              s.saved(),
              s.retries(),
              cache.location());
      run.events().emit(EventType.API_SUMMARY, step, summary);
      out.println(summary);
      out.flush();
    }
  }

  private static int parse(Answer a, int i, int classes) throws IOException {
    String text = a.content().strip();
    try {
      int c = Integer.parseInt(text);
      if (c >= 0 && c < classes) {
        return c;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new IOException(
        "the teacher answered '"
            + (text.length() > 40 ? text.substring(0, 40) + "..." : text)
            + "' for example "
            + i
            + "; expected a class number 0-"
            + (classes - 1));
  }
}
