package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Worker JVMs sharing one PostgreSQL cache and one paid API (a local OpenAI-compatible server that
 * counts what it is asked): each prompt is paid once however many workers ask it, and a worker
 * killed with -9 while holding claims costs only the calls it had in flight.
 */
class PostgresFleetTest {
  private static final int PROMPTS = 200;

  private HttpServer api;
  private final Map<String, AtomicInteger> perPrompt = new ConcurrentHashMap<>();
  private final AtomicInteger requests = new AtomicInteger();

  /** Prompts whose first request never gets an answer while set (the victim's calls in flight). */
  private volatile Set<Integer> hang = Set.of();

  private final CountDownLatch hung = new CountDownLatch(4);
  private final CountDownLatch end = new CountDownLatch(1);
  private final List<Process> children = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    System.setProperty("sun.net.httpserver.nodelay", "true");
    api = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    api.createContext(
        "/v1/chat/completions",
        ex -> {
          try (ex) {
            String prompt =
                Requests.JSON
                    .readTree(ex.getRequestBody())
                    .path("messages")
                    .path(0)
                    .path("content")
                    .asText();
            requests.incrementAndGet();
            int n = perPrompt.computeIfAbsent(prompt, k -> new AtomicInteger()).incrementAndGet();
            if (n == 1 && hang.contains(Integer.parseInt(prompt.substring(8)))) {
              hung.countDown();
              end.await(); // paid, never answered: the worker dies with it in flight
              return;
            }
            byte[] b =
                ("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"7\"}}],"
                        + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1}}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(b);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    api.setExecutor(Executors.newCachedThreadPool());
    api.start();
  }

  @AfterEach
  void stop() {
    end.countDown();
    children.forEach(Process::destroyForcibly);
    api.stop(0);
  }

  private Process worker(String uri, int from, int to, int threads, long leaseMillis)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(PgClientMain.class.getName());
    cmd.add(uri);
    cmd.add("http://127.0.0.1:" + api.getAddress().getPort() + "/v1");
    cmd.add(Integer.toString(from));
    cmd.add(Integer.toString(to));
    cmd.add(Integer.toString(threads));
    cmd.add(Long.toString(leaseMillis));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    children.add(p);
    return p;
  }

  /** Reads a worker's output to its end; returns its STATS numbers. */
  private static long[] finish(Process p, Set<Integer> acked) throws Exception {
    long[] stats = null;
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("ACK ")) {
          acked.add(Integer.parseInt(line.substring(4)));
        } else if (line.startsWith("STATS ")) {
          String[] f = line.substring(6).split(" ");
          stats = new long[f.length];
          for (int i = 0; i < f.length; i++) {
            stats[i] = Long.parseLong(f[i]);
          }
        }
      }
    }
    assertThat(p.waitFor(3, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as("worker exit code").isZero();
    assertThat(stats).as("the worker's STATS line").isNotNull();
    return stats;
  }

  @Test
  void fourWorkersAskingTheSame200PromptsPayForEachOnce() throws Exception {
    String db = TestPostgres.newDatabase();
    String uri = TestPostgres.uri(db);
    // Two count up and two count down, two threads each: they meet on every prompt.
    List<Process> ps =
        List.of(
            worker(uri, 0, PROMPTS, 2, 60_000),
            worker(uri, 0, PROMPTS, 2, 60_000),
            worker(uri, PROMPTS - 1, -1, 2, 60_000),
            worker(uri, PROMPTS - 1, -1, 2, 60_000));
    long paid = 0;
    long waits = 0;
    for (Process p : ps) {
      Set<Integer> acked = ConcurrentHashMap.newKeySet();
      long[] s = finish(p, acked);
      assertThat(acked).hasSize(PROMPTS);
      paid += s[0];
      waits += s[2];
      assertThat(s[3]).as("takeovers").isZero();
    }
    assertThat(requests.get()).as("requests the server received").isEqualTo(PROMPTS);
    for (int i = 0; i < PROMPTS; i++) {
      assertThat(perPrompt.get("example " + i).get()).as("example %d", i).isEqualTo(1);
    }
    assertThat(paid).isEqualTo(PROMPTS);
    assertThat(waits).as("workers found prompts claimed by others").isPositive();
    try (ResponseCache c = ResponseCache.open(uri)) {
      assertThat(c.size()).isEqualTo(PROMPTS);
    }
  }

  @Test
  void aWorkerKilledHoldingClaimsIsTakenOverAfterItsLeaseAndOnlyItsCallsInFlightArePaidTwice()
      throws Exception {
    String db = TestPostgres.newDatabase();
    String uri = TestPostgres.uri(db);
    long lease = 5_000; // short, so the others take over soon after the kill
    hang = Set.of(40, 41, 42, 43, 44, 45, 46, 47);
    // Four threads: answers 0..39 are stored, then every thread holds the claim of a prompt
    // whose request the server received and never answers.
    Process victim = worker(uri, 0, PROMPTS, 4, lease);
    assertThat(hung.await(2, TimeUnit.MINUTES)).as("four calls in flight").isTrue();
    victim.destroyForcibly(); // SIGKILL
    assertThat(victim.waitFor(1, TimeUnit.MINUTES)).isTrue();
    int inFlight = requests.get();
    hang = Set.of();
    Set<Integer> answeredBeforeKill = ConcurrentHashMap.newKeySet();
    perPrompt.forEach(
        (p, c) -> {
          int n = Integer.parseInt(p.substring(8));
          if (n < 40) {
            answeredBeforeKill.add(n);
          }
        });
    assertThat(inFlight - answeredBeforeKill.size()).as("requests never answered").isEqualTo(4);

    List<Process> others =
        List.of(
            worker(uri, 0, PROMPTS, 2, lease),
            worker(uri, PROMPTS - 1, -1, 2, lease),
            worker(uri, 0, PROMPTS, 2, lease));
    long takeovers = 0;
    for (Process p : others) {
      Set<Integer> acked = ConcurrentHashMap.newKeySet();
      takeovers += finish(p, acked)[3];
      assertThat(acked).hasSize(PROMPTS);
    }
    assertThat(takeovers).as("the dead worker's claims, each taken over once").isEqualTo(4);
    int twice = 0;
    for (int i = 0; i < PROMPTS; i++) {
      int c = perPrompt.get("example " + i).get();
      assertThat(c).as("example %d", i).isBetween(1, 2);
      twice += c - 1;
    }
    assertThat(twice).as("paid twice: only the calls in flight at the kill").isEqualTo(4);
    assertThat(requests.get()).isEqualTo(PROMPTS + 4);
  }
}
