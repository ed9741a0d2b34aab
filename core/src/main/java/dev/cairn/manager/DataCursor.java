package dev.cairn.manager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * Where the data loader is: epoch and position within the epoch. Saved with every checkpoint so
 * that a resume neither repeats nor skips an example.
 */
public final class DataCursor implements Checkpointable {
  private final String name;
  private long epoch;
  private long position;

  public DataCursor(String name) {
    this.name = name;
  }

  public long epoch() {
    return epoch;
  }

  public long position() {
    return position;
  }

  /** Moves to the given place. */
  public void set(long epoch, long position) {
    if (epoch < 0 || position < 0) {
      throw new IllegalArgumentException("epoch and position must be 0 or more");
    }
    this.epoch = epoch;
    this.position = position;
  }

  /** Advances by {@code n} examples, wrapping into the next epoch at {@code epochSize}. */
  public void advance(long n, long epochSize) {
    position += n;
    while (position >= epochSize) {
      position -= epochSize;
      epoch++;
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void snapshot(Snapshot out) {
    out.json(JsonNodeFactory.instance.objectNode().put("epoch", epoch).put("position", position));
  }

  @Override
  public void restore(Restored in) {
    JsonNode j = in.json();
    if (j == null) {
      throw new IllegalStateException("no data position saved for '" + name + "'");
    }
    set(j.path("epoch").asLong(), j.path("position").asLong());
  }
}
