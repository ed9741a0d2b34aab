package dev.cairn.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An OpenAI-compatible chat-completions server on 127.0.0.1 that misbehaves on request: each
 * request takes the next scripted behaviour (500, 429 with Retry-After, a dropped connection, a
 * slow answer, garbage, a cut-short body), or answers normally when the script is empty. Counts
 * requests per prompt, which is how the tests prove what was paid for.
 */
final class FakeApi implements AutoCloseable {
  sealed interface Behaviour permits Status, Drop, Slow, Garbage, Truncated {}

  record Status(int code, String retryAfter) implements Behaviour {}

  record Drop() implements Behaviour {}

  record Slow(long millis) implements Behaviour {}

  record Garbage() implements Behaviour {}

  record Truncated() implements Behaviour {}

  private final HttpServer server;
  final Queue<Behaviour> script = new ConcurrentLinkedQueue<>();
  final Map<String, AtomicInteger> perPrompt = new ConcurrentHashMap<>();
  final AtomicInteger requests = new AtomicInteger();
  volatile long delayMillis;
  volatile Function<String, String> answer = p -> "7";

  FakeApi() throws IOException {
    // Without TCP_NODELAY the JDK server's small answers wait ~40 ms for delayed ACKs.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/chat/completions", this::handle);
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
  }

  URI base() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
  }

  int count(String prompt) {
    AtomicInteger c = perPrompt.get(prompt);
    return c == null ? 0 : c.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      JsonNode body = Requests.JSON.readTree(ex.getRequestBody());
      String prompt = body.path("messages").path(0).path("content").asText();
      requests.incrementAndGet();
      perPrompt.computeIfAbsent(prompt, k -> new AtomicInteger()).incrementAndGet();
      Behaviour b = script.poll();
      if (b instanceof Drop) {
        return; // closes the connection without a response
      }
      if (b instanceof Status s) {
        if (s.retryAfter() != null) {
          ex.getResponseHeaders().add("Retry-After", s.retryAfter());
        }
        send(ex, s.code(), "{\"error\":{\"message\":\"scripted " + s.code() + "\"}}");
        return;
      }
      if (b instanceof Garbage) {
        send(ex, 200, "<html>502 Bad Gateway from a proxy</html>");
        return;
      }
      if (b instanceof Truncated) {
        send(ex, 200, "{\"choices\":[{\"message\":{\"content\":\"3");
        return;
      }
      long wait = b instanceof Slow s ? s.millis() : delayMillis;
      if (wait > 0) {
        Thread.sleep(wait);
      }
      String content = answer.apply(prompt);
      send(
          ex,
          200,
          "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
              + "{\"role\":\"assistant\",\"content\":\""
              + content
              + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
              + "\"completion_tokens\":1,\"total_tokens\":13}}");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void send(HttpExchange ex, int code, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
