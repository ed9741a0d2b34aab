package dev.cairn.coordination;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;

/**
 * Rank 0's side of one other rank's connection: reads the hello, then the rank's calls, until a
 * goodbye or the end of the connection. Runs on its own thread; answers are written by whichever
 * thread completes or fails the round, one at a time.
 */
final class PeerConnection implements Runnable {
  /** A connection that does not say hello within this time is closed (it holds a slot). */
  private static final int HELLO_MILLIS = 30_000;

  private final Rendezvous rendezvous;
  private final Socket socket;
  private final Object writeLock = new Object();
  private volatile DataOutputStream out;

  PeerConnection(Rendezvous rendezvous, Socket socket) {
    this.rendezvous = rendezvous;
    this.socket = socket;
  }

  @Override
  public void run() {
    int rank = -1;
    try {
      socket.setTcpNoDelay(true);
      socket.setKeepAlive(true);
      socket.setSoTimeout(HELLO_MILLIS);
      DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
      Handshake.Hello hello = Handshake.Hello.fromJson(Frames.read(in, Frames.MAX_SMALL));
      String refusal = rendezvous.admit(hello, this);
      if (refusal != null) {
        send(Frames.object("error").put("message", refusal));
        return;
      }
      rank = hello.rank();
      send(Frames.object("welcome"));
      socket.setSoTimeout(0); // calls may be hours apart; a dead peer shows as a reset or EOF
      serve(rank, in);
    } catch (IOException e) {
      if (rank >= 0) {
        rendezvous.lost(rank, this, e);
      }
    } finally {
      close();
      rendezvous.released();
    }
  }

  private void serve(int rank, DataInputStream in) throws IOException {
    while (true) {
      ObjectNode m = Frames.read(in, Frames.MAX_CALL);
      String type = m.path("type").asText();
      if (type.equals("bye")) {
        rendezvous.leave(rank, this);
        return;
      }
      if (!type.equals("call")) {
        throw new IOException("rank " + rank + " sent an unknown message '" + type + "'");
      }
      Call call = parse(m, rank);
      rendezvous.arrive(rank, call, waiter(call));
    }
  }

  private static Call parse(ObjectNode m, int rank) throws IOException {
    try {
      return new Call(
          m.path("channel").asText(Call.MAIN),
          m.path("seq").asLong(-1),
          Op.fromWire(m.path("op").asText()),
          m.path("name").asText(),
          m.path("payload").binaryValue() == null ? new byte[0] : m.path("payload").binaryValue(),
          Duration.ofMillis(m.path("timeout_ms").asLong(0)));
    } catch (IllegalArgumentException e) {
      throw new IOException(
          "rank " + rank + " sent a call that breaks the rules: " + e.getMessage());
    }
  }

  private Round.Waiter waiter(Call call) {
    String channel = call.channel();
    long seq = call.seq();
    return new Round.Waiter() {
      @Override
      public void deliver(List<byte[]> result) {
        ObjectNode m = Frames.object("result").put("channel", channel).put("seq", seq);
        ArrayNode a = m.putArray("payloads");
        result.forEach(a::add);
        sendOrClose(m);
      }

      @Override
      public void fail(CoordinationException e) {
        ObjectNode m =
            Frames.object("error")
                .put("channel", channel)
                .put("seq", seq)
                .put("message", e.getMessage());
        ArrayNode a = m.putArray("missing");
        e.missingRanks().forEach(a::add);
        sendOrClose(m);
      }
    };
  }

  /** A write that fails closes the socket; the reading thread then reports the rank lost. */
  private void sendOrClose(ObjectNode m) {
    try {
      send(m);
    } catch (IOException e) {
      close();
    }
  }

  private void send(ObjectNode m) throws IOException {
    synchronized (writeLock) {
      Frames.write(out, m);
    }
  }

  void close() {
    Rendezvous.closeQuietly(socket);
  }
}
