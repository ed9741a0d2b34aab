package dev.cairn.web;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * HTTP/1.1 over a plain socket, so tests can send exactly the headers an attacker would (any Host,
 * any Origin), which java.net.http does not allow.
 */
final class RawHttp {
  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private RawHttp() {}

  static Response send(
      int port, String method, String path, Map<String, String> headers, String body)
      throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      StringBuilder req = new StringBuilder();
      req.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
      Map<String, String> h = new LinkedHashMap<>();
      h.put("Host", "127.0.0.1:" + port);
      h.put("Connection", "close");
      h.putAll(headers);
      if (body != null) {
        h.put("Content-Length", String.valueOf(bytes.length));
        h.putIfAbsent("Content-Type", "application/json");
      }
      h.forEach(
          (k, v) -> {
            if (v != null) {
              req.append(k).append(": ").append(v).append("\r\n");
            }
          });
      req.append("\r\n");
      out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(bytes);
      out.flush();
      return read(s.getInputStream());
    }
  }

  private static Response read(InputStream in) throws IOException {
    byte[] all = in.readAllBytes();
    String text = new String(all, StandardCharsets.ISO_8859_1);
    int split = text.indexOf("\r\n\r\n");
    String head = text.substring(0, split);
    String[] lines = head.split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int c = lines[i].indexOf(':');
      headers.merge(
          lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT),
          lines[i].substring(c + 1).trim(),
          (a, b) -> a + "\n" + b);
    }
    byte[] rest = java.util.Arrays.copyOfRange(all, split + 4, all.length);
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      rest = dechunk(rest);
    }
    return new Response(status, headers, new String(rest, StandardCharsets.UTF_8));
  }

  private static byte[] dechunk(byte[] b) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < b.length) {
      int eol = i;
      while (b[eol] != '\r') {
        eol++;
      }
      int len = Integer.parseInt(new String(b, i, eol - i, StandardCharsets.US_ASCII).trim(), 16);
      if (len == 0) {
        break;
      }
      out.write(b, eol + 2, len);
      i = eol + 2 + len + 2;
    }
    return out.toByteArray();
  }

  /** An open event stream: lines are read until {@code until} accepts one (or the timeout). */
  static final class Stream implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader reader;

    Stream(int port, String path, Map<String, String> headers) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(30_000);
      StringBuilder req = new StringBuilder();
      req.append("GET ").append(path).append(" HTTP/1.1\r\n");
      req.append("Host: 127.0.0.1:").append(port).append("\r\n");
      req.append("Accept: text/event-stream\r\n");
      headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
      req.append("\r\n");
      socket.getOutputStream().write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      reader =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Reads lines until one matches; returns it. */
    String until(Predicate<String> match) throws IOException {
      String line;
      while ((line = reader.readLine()) != null) {
        if (match.test(line)) {
          return line;
        }
      }
      throw new IOException("stream ended");
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
