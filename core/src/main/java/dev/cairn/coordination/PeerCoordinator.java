package dev.cairn.coordination;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.concurrent.DaemonThreads;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A rank other than 0: one connection to rank 0's rendezvous, carrying the calls of every channel.
 * A call sends its request and waits for its answer, which a reader thread hands over by channel
 * and number; rank 0 answers or fails the round at its deadline, and a rank 0 that dies closes the
 * connection, which fails every waiting call at once.
 */
final class PeerCoordinator extends GroupCoordinator {
  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;
  private final String where;
  private final Map<Round.Key, CompletableFuture<ObjectNode>> pending = new HashMap<>();
  private IOException readerEnd; // guarded by pending: why the answers stopped

  private PeerCoordinator(RankEnvironment env, Socket socket) throws IOException {
    super(env);
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    this.where = "rank 0 (the rendezvous at " + env.host() + ":" + env.port() + ")";
  }

  /**
   * Connects to rank 0, retrying while it is not listening yet, and joins its group.
   *
   * @param onRetry run after each refused attempt (tests wait on it)
   */
  static PeerCoordinator join(RankEnvironment env, Duration timeout, Runnable onRetry)
      throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Socket s = connect(env, timeout, deadline, onRetry);
    try {
      s.setTcpNoDelay(true);
      s.setKeepAlive(true);
      s.setSoTimeout((int) Math.max(1, remainingMillis(deadline)));
      PeerCoordinator p = new PeerCoordinator(env, s);
      p.hello();
      s.setSoTimeout(0); // calls may be hours apart; each call waits with its own deadline
      p.startReader();
      return p;
    } catch (IOException | RuntimeException e) {
      Rendezvous.closeQuietly(s);
      if (e instanceof SocketTimeoutException) {
        throw new CoordinationException(
            "rank "
                + env.rank()
                + ": rank 0 did not answer its hello within "
                + Call.format(timeout),
            List.of(0),
            e);
      }
      throw e;
    }
  }

  private static Socket connect(
      RankEnvironment env, Duration timeout, long deadline, Runnable onRetry) throws IOException {
    long pause = 20;
    while (true) {
      Socket s = new Socket();
      try {
        InetSocketAddress a = new InetSocketAddress(env.host(), env.port());
        if (a.isUnresolved()) {
          throw new UnknownHostException(env.host());
        }
        s.connect(a, (int) Math.max(1, remainingMillis(deadline)));
        return s;
      } catch (ConnectException
          | NoRouteToHostException
          | UnknownHostException
          | SocketTimeoutException e) {
        s.close();
        if (remainingMillis(deadline) <= 0) {
          throw new CoordinationException(
              "rank "
                  + env.rank()
                  + " could not reach rank 0's rendezvous at "
                  + env.host()
                  + ":"
                  + env.port()
                  + " within "
                  + Call.format(timeout)
                  + ": "
                  + e.getMessage(),
              List.of(0),
              e);
        }
        onRetry.run();
        pause(Math.min(pause, remainingMillis(deadline)));
        pause = Math.min(pause * 2, 1000);
      }
    }
  }

  /** Waiting between connection attempts while rank 0 starts. */
  private static void pause(long millis) throws InterruptedIOException {
    try {
      TimeUnit.MILLISECONDS.sleep(Math.max(0, millis));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while joining the group");
    }
  }

  private void hello() throws IOException {
    Frames.write(out, Handshake.Hello.of(environment()).toJson());
    ObjectNode answer = Frames.read(in, Frames.MAX_SMALL);
    if (!answer.path("type").asText().equals("welcome")) {
      throw new CoordinationException(answer.path("message").asText("refused"), List.of());
    }
  }

  /** Starts the thread that reads rank 0's answers and hands each to the call waiting for it. */
  private void startReader() {
    DaemonThreads.named("cairn-coord-answers").newThread(this::readAnswers).start();
  }

  private void readAnswers() {
    IOException end;
    try {
      while (true) {
        ObjectNode m = Frames.read(in, Frames.MAX_ANSWER);
        Round.Key key =
            new Round.Key(m.path("channel").asText(Call.MAIN), m.path("seq").asLong(-1));
        CompletableFuture<ObjectNode> waiting;
        synchronized (pending) {
          waiting = pending.remove(key);
        }
        if (waiting == null) {
          throw new IOException(
              "an answer to call #" + key.seq() + " on channel '" + key.channel() + "', not asked");
        }
        waiting.complete(m);
      }
    } catch (IOException e) {
      end = e;
    }
    synchronized (pending) {
      readerEnd = end;
      pending.values().forEach(f -> f.completeExceptionally(end));
      pending.clear();
    }
    Rendezvous.closeQuietly(socket);
  }

  @Override
  List<byte[]> exchange(Call call) throws IOException {
    long within = answerWithin(call.timeout());
    Round.Key key = Round.Key.of(call);
    CompletableFuture<ObjectNode> answer = new CompletableFuture<>();
    try {
      synchronized (pending) {
        if (readerEnd != null) {
          throw readerEnd;
        }
        pending.put(key, answer);
      }
      ObjectNode m =
          Frames.object("call")
              .put("channel", call.channel())
              .put("seq", call.seq())
              .put("op", call.op().wire)
              .put("name", call.name())
              .put("timeout_ms", Math.max(1, call.timeout().toMillis()))
              .put("payload", call.payload());
      synchronized (out) {
        Frames.write(out, m);
      }
      return answer(answer.get(within, TimeUnit.MILLISECONDS));
    } catch (TimeoutException e) {
      throw new CoordinationException(
          call.describe() + ": no answer from " + where + " within " + within + " ms",
          List.of(0),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close(); // the rounds go on without this rank: leave, so the others fail now
      throw new InterruptedIOException(call.describe() + " was interrupted");
    } catch (ExecutionException e) {
      throw lost(call, e.getCause() instanceof IOException io ? io : new IOException(e.getCause()));
    } catch (CoordinationException e) {
      throw e;
    } catch (IOException e) {
      throw lost(call, e);
    } finally {
      synchronized (pending) {
        pending.remove(key);
      }
    }
  }

  private CoordinationException lost(Call call, IOException e) {
    if (isClosed()) {
      return new CoordinationException(
          call.describe() + ": this rank's coordinator was closed during the call", List.of(), e);
    }
    return new CoordinationException(
        call.describe() + ": lost connection to " + where + ": " + e.getMessage(), List.of(0), e);
  }

  private static List<byte[]> answer(ObjectNode m) throws IOException {
    if (m.path("type").asText().equals("error")) {
      List<Integer> missing = new ArrayList<>();
      m.path("missing").forEach(r -> missing.add(r.asInt()));
      throw new CoordinationException(m.path("message").asText(), missing);
    }
    List<byte[]> out = new ArrayList<>();
    for (JsonNode p : m.path("payloads")) {
      out.add(p.binaryValue());
    }
    return out;
  }

  /**
   * How long a rank waits for the answer before giving up on rank 0 itself: the call's timeout,
   * after which rank 0 fails the round, plus a margin for that failure to arrive (5 s and a tenth
   * of the timeout). Only a rank 0 that is stuck or unreachable without a reset takes this long.
   */
  static long answerWithin(Duration timeout) {
    long ms = timeout.toMillis();
    return ms + 5000 + ms / 10;
  }

  /** Says goodbye (so the others fail fast if they still wait for this rank) and disconnects. */
  @Override
  void release() {
    try {
      synchronized (out) {
        Frames.write(out, Frames.object("bye"));
      }
    } catch (IOException e) {
      // rank 0 is gone already; nothing to tell
    } finally {
      Rendezvous.closeQuietly(socket);
    }
  }

  private static long remainingMillis(long deadline) {
    return TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
  }
}
