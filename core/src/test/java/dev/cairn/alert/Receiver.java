package dev.cairn.alert;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;

/**
 * A real HTTP server on 127.0.0.1 that records every request it gets and answers with the status a
 * test chooses per request number (1-based). Tests wait on {@link #await}, never on time.
 */
final class Receiver implements AutoCloseable {
  record Request(String method, String path, String contentType, String body) {}

  final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Semaphore arrived = new Semaphore(0);
  private final HttpServer server;
  volatile IntUnaryOperator status = n -> 200;

  /** Taken before answering; tests hold it to keep the sender busy. */
  final Semaphore gate = new Semaphore(Integer.MAX_VALUE);

  Receiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        ex -> {
          String body;
          try (InputStream in = ex.getRequestBody()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
          }
          requests.add(
              new Request(
                  ex.getRequestMethod(),
                  ex.getRequestURI().toString(),
                  ex.getRequestHeaders().getFirst("Content-Type"),
                  body));
          arrived.release();
          gate.acquireUninterruptibly();
          gate.release();
          int code = status.applyAsInt(requests.size());
          ex.sendResponseHeaders(code, -1);
          ex.close();
        });
    server.start();
  }

  /** The URL of a Slack-like hook whose path is the secret. */
  String url() {
    return "http://127.0.0.1:"
        + server.getAddress().getPort()
        + "/services/T0001/B0002/s3cr3tT0k3n";
  }

  /** Waits until {@code n} requests in all have arrived (60 s at most, then fails). */
  void await(int n) throws InterruptedException {
    if (!arrived.tryAcquire(n, 60, TimeUnit.SECONDS)) {
      throw new AssertionError("only " + requests.size() + " of " + n + " requests arrived");
    }
    arrived.release(n);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
