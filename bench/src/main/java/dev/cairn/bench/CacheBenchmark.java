package dev.cairn.bench;

import com.sun.net.httpserver.HttpServer;
import dev.cairn.cache.CachedCalls;
import dev.cairn.cache.OpenAiChat;
import dev.cairn.cache.Price;
import dev.cairn.cache.ResponseCache;
import dev.cairn.cache.RetrySettings;
import dev.cairn.events.Events;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The response cache against its limits, in one process and one run: a hit (median latency; hits
 * per second on 1 and 8 threads) against nothing; a miss (lookup, the HTTP call to a local server
 * answering at once, the durable store) against the raw HTTP call alone and against one fsync of a
 * small append on the same disk, which is what a durable store cannot avoid.
 */
public final class CacheBenchmark {
  /** Medians in microseconds, throughputs in calls per second. */
  public record Result(
      int entries,
      double hitMicros,
      double hitsPerSecond1,
      double hitsPerSecond8,
      double rawCallMicros,
      double missMicros,
      double fsyncMicros) {}

  private CacheBenchmark() {}

  public static Result run(Path dir, int entries) throws Exception {
    Files.createDirectories(dir);
    Path work = Files.createTempDirectory(dir, "cairn-bench-cache-");
    HttpServer server = server();
    try (ResponseCache cache = ResponseCache.open(work.resolve("responses.db"))) {
      URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
      CachedCalls calls = new CachedCalls(cache, RetrySettings.defaults(), Events.NONE);
      OpenAiChat chat =
          new OpenAiChat(base, null, "bench", Price.FREE, calls, Duration.ofSeconds(10));
      // Misses: each a new prompt (lookup, call, durable store).
      double[] miss = new double[entries];
      for (int i = 0; i < entries; i++) {
        long t0 = System.nanoTime();
        chat.ask("prompt " + i, 4);
        miss[i] = (System.nanoTime() - t0) / 1e3;
      }
      // The raw call: the same HTTP request without the cache.
      HttpClient http = HttpClient.newHttpClient();
      double[] raw = new double[Math.min(entries, 2000)];
      String body =
          "{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"raw\"}],"
              + "\"temperature\":0.0,\"max_tokens\":4}";
      for (int i = 0; i < raw.length; i++) {
        long t0 = System.nanoTime();
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(chat.endpoint())
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .header("Content-Type", "application/json")
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
          throw new IOException("bench server answered " + r.statusCode());
        }
        raw[i] = (System.nanoTime() - t0) / 1e3;
      }
      // Hits: warm up, then time single calls and throughput on 1 and 8 threads.
      for (int i = 0; i < 20_000; i++) {
        chat.ask("prompt " + (i % entries), 4);
      }
      double[] hit = new double[20_000];
      for (int i = 0; i < hit.length; i++) {
        long t0 = System.nanoTime();
        chat.ask("prompt " + (i % entries), 4);
        hit[i] = (System.nanoTime() - t0) / 1e3;
      }
      double t1 = throughput(chat, entries, 1, Duration.ofSeconds(3));
      double t8 = throughput(chat, entries, 8, Duration.ofSeconds(3));
      return new Result(
          entries, median(hit), t1, t8, median(raw), median(miss), fsyncMicros(work, 200));
    } finally {
      server.stop(0);
      deleteTree(work);
    }
  }

  private static double throughput(OpenAiChat chat, int entries, int threads, Duration d)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicLong done = new AtomicLong();
    CountDownLatch go = new CountDownLatch(1);
    long end = System.nanoTime() + d.toNanos();
    Future<?>[] fs = new Future<?>[threads];
    for (int t = 0; t < threads; t++) {
      int seed = t;
      fs[t] =
          pool.submit(
              () -> {
                go.await();
                int i = seed * 7919;
                while (System.nanoTime() < end) {
                  chat.ask("prompt " + (i++ % entries), 4);
                  done.incrementAndGet();
                }
                return null;
              });
    }
    long t0 = System.nanoTime();
    go.countDown();
    for (Future<?> f : fs) {
      f.get();
    }
    pool.shutdown();
    return done.get() / ((System.nanoTime() - t0) / 1e9);
  }

  /** Median time of appending 200 bytes and fsyncing, on the cache's disk. */
  private static double fsyncMicros(Path dir, int n) throws IOException {
    double[] t = new double[n];
    try (FileChannel ch =
        FileChannel.open(
            dir.resolve("fsync.probe"),
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.APPEND)) {
      ByteBuffer b = ByteBuffer.wrap(new byte[200]);
      for (int i = 0; i < n; i++) {
        b.rewind();
        long t0 = System.nanoTime();
        ch.write(b);
        ch.force(false);
        t[i] = (System.nanoTime() - t0) / 1e3;
      }
    }
    return median(t);
  }

  private static HttpServer server() throws IOException {
    // Without TCP_NODELAY the JDK server's small answers wait ~40 ms for delayed ACKs.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    byte[] answer =
        ("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"7\"}}],"
                + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1}}")
            .getBytes(StandardCharsets.UTF_8);
    s.createContext(
        "/v1/chat/completions",
        ex -> {
          try (ex) {
            ex.getRequestBody().readAllBytes();
            ex.sendResponseHeaders(200, answer.length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(answer);
            }
          }
        });
    s.setExecutor(Executors.newFixedThreadPool(4));
    s.start();
    return s;
  }

  static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c[c.length / 2];
  }

  private static void deleteTree(Path p) throws IOException {
    dev.cairn.store.Storage.at(p).deleteTree("");
  }
}
