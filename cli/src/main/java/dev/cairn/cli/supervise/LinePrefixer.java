package dev.cairn.cli.supervise;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Copies a child's output to one of ours line by line, each line preceded by a tag such as "[rank
 * 1] ", so that a person reading N interleaved ranks can tell them apart. Lines are written whole
 * and a line longer than 64 KiB is cut, so a child printing without newlines cannot make the
 * launcher buffer without bound.
 */
final class LinePrefixer implements Runnable {
  private static final int MAX_LINE = 64 * 1024;

  private final InputStream in;
  private final PrintWriter to;
  private final String tag;

  LinePrefixer(InputStream in, PrintWriter to, String tag) {
    this.in = in;
    this.to = to;
    this.tag = tag;
  }

  @Override
  public void run() {
    byte[] line = new byte[256];
    int n = 0;
    byte[] buf = new byte[8192];
    try (in) {
      int r;
      while ((r = in.read(buf)) > 0) {
        for (int i = 0; i < r; i++) {
          if (buf[i] == '\n' || n == MAX_LINE) {
            emit(line, n);
            n = 0;
            if (buf[i] == '\n') {
              continue;
            }
          }
          if (n == line.length) {
            line = Arrays.copyOf(line, Math.min(MAX_LINE, line.length * 2));
          }
          line[n++] = buf[i];
        }
      }
    } catch (IOException e) {
      // the child's end closed abruptly (killed): what was read is still printed below
    }
    if (n > 0) {
      emit(line, n);
    }
  }

  private void emit(byte[] line, int n) {
    int end = n > 0 && line[n - 1] == '\r' ? n - 1 : n;
    // One println holds the writer's lock for the whole line: lines of ranks never interleave.
    to.println(tag + new String(line, 0, end, StandardCharsets.UTF_8));
    to.flush();
  }
}
