package dev.cairn.manager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.Base64;
import org.apache.commons.rng.RandomProviderState;
import org.apache.commons.rng.RestorableUniformRandomProvider;
import org.apache.commons.rng.core.RandomProviderDefaultState;
import org.apache.commons.rng.simple.RandomSource;

/**
 * The exact state of an Apache Commons RNG generator (for shuffling, dropout masks, sampling), so a
 * resumed run draws the same numbers an uninterrupted one would. java.util.Random and
 * SplittableRandom cannot export their state; use a {@code RandomSource} generator instead.
 */
public final class RngState implements Checkpointable {
  private final String name;
  private final RestorableUniformRandomProvider rng;

  public RngState(String name, RestorableUniformRandomProvider rng) {
    this.name = name;
    this.rng = rng;
  }

  /** A new seeded generator of the given algorithm, wrapped for checkpointing. */
  public static RngState create(String name, RandomSource source, long seed) {
    return new RngState(name, source.create(seed));
  }

  public RestorableUniformRandomProvider rng() {
    return rng;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void snapshot(Snapshot out) {
    RandomProviderState s = rng.saveState();
    if (!(s instanceof RandomProviderDefaultState d)) {
      throw new IllegalStateException(
          "RNG '" + name + "' has a state Cairn cannot serialize: " + s.getClass());
    }
    out.json(
        JsonNodeFactory.instance
            .objectNode()
            .put("generator", rng.getClass().getName())
            .put("state", Base64.getEncoder().encodeToString(d.getState())));
  }

  @Override
  public void restore(Restored in) {
    JsonNode j = in.json();
    if (j == null || !j.path("state").isTextual()) {
      throw new IllegalStateException("no RNG state saved for '" + name + "'");
    }
    String generator = j.path("generator").asText();
    if (!generator.equals(rng.getClass().getName())) {
      throw new IllegalStateException(
          "RNG '"
              + name
              + "' was saved from "
              + generator
              + " but is now "
              + rng.getClass().getName());
    }
    rng.restoreState(
        new RandomProviderDefaultState(Base64.getDecoder().decode(j.get("state").asText())));
  }
}
