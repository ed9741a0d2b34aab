package dev.cairn.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.safetensors.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one save writes: a step, an optional name (named checkpoints are pinned), metrics the
 * retention policy can rank by, user metadata, and parts. A part is a named tensor group (one
 * safetensors file) or small JSON state (one JSON file). Built with {@link #at(long)}; immutable.
 */
public final class Checkpoint {

  /** One part: tensors or JSON, never both. */
  public record Part(
      String name, List<Tensor> tensors, Map<String, String> tensorMetadata, JsonNode json) {
    public Part {
      tensors = tensors == null ? null : List.copyOf(tensors);
      tensorMetadata = tensorMetadata == null ? Map.of() : Map.copyOf(tensorMetadata);
    }

    public boolean isTensors() {
      return tensors != null;
    }

    /** The file this part is stored in, inside the checkpoint folder. */
    public String fileName() {
      return kind().fileName(name);
    }

    public Manifest.Kind kind() {
      return isTensors() ? Manifest.Kind.TENSORS : Manifest.Kind.JSON;
    }
  }

  private final long step;
  private final String name;
  private final Map<String, Double> metrics;
  private final ObjectNode metadata;
  private final List<Part> parts;

  private Checkpoint(Builder b) {
    this.step = b.step;
    this.name = b.name;
    this.metrics = Map.copyOf(b.metrics);
    this.metadata = b.metadata.deepCopy();
    this.parts = List.copyOf(b.parts.values());
  }

  /** Starts a checkpoint for a training step (0 or more). */
  public static Builder at(long step) {
    return new Builder(step);
  }

  public long step() {
    return step;
  }

  /** The user's name for it, or null. */
  public String name() {
    return name;
  }

  public Map<String, Double> metrics() {
    return metrics;
  }

  public ObjectNode metadata() {
    return metadata.deepCopy();
  }

  public List<Part> parts() {
    return parts;
  }

  /** Bytes of part data (tensor bytes and JSON), the bulk of what a save writes. */
  public long estimatedBytes() {
    long n = 0;
    for (Part p : parts) {
      if (p.isTensors()) {
        for (Tensor t : p.tensors()) {
          n += t.data().byteSize();
        }
        n += 4096L + 256L * p.tensors().size();
      } else {
        n += p.json().toString().length() * 4L;
      }
    }
    return n;
  }

  /** Collects the parts of a checkpoint; validates each value when it is set. */
  public static final class Builder {
    private final long step;
    private String name;
    private final Map<String, Double> metrics = new LinkedHashMap<>();
    private final ObjectNode metadata = JsonNodeFactory.instance.objectNode();
    private final Map<String, Part> parts = new LinkedHashMap<>();

    private Builder(long step) {
      if (step < 0) {
        throw new IllegalArgumentException("checkpoint step must be 0 or more, was " + step);
      }
      this.step = step;
    }

    /** Names (and so pins) the checkpoint; the name is recorded in its manifest. */
    public Builder name(String name) {
      this.name = name == null ? null : Names.requireSafe(name, "checkpoint name");
      return this;
    }

    public Builder metric(String key, double value) {
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("metric name must not be empty");
      }
      metrics.put(key, value);
      return this;
    }

    public Builder metrics(Map<String, Double> values) {
      // A loop, not forEach: the manager builds a checkpoint on the training thread, and a method
      // reference's first evaluation costs a millisecond of linking there.
      for (Map.Entry<String, Double> e : values.entrySet()) {
        metric(e.getKey(), e.getValue());
      }
      return this;
    }

    /** User metadata, stored in the manifest. */
    public Builder metadata(String key, JsonNode value) {
      metadata.set(key, value);
      return this;
    }

    public Builder metadata(String key, String value) {
      metadata.put(key, value);
      return this;
    }

    /** A tensor group, written as {@code <name>.safetensors}. */
    public Builder tensors(String part, List<Tensor> tensors) {
      return tensors(part, tensors, Map.of());
    }

    /** A tensor group with safetensors {@code __metadata__}. */
    public Builder tensors(String part, List<Tensor> tensors, Map<String, String> metadata) {
      List<Tensor> copy = new ArrayList<>(tensors);
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (Tensor t : copy) {
        if (!seen.add(t.name())) {
          throw new IllegalArgumentException(
              "part '" + part + "' has tensor '" + t.name() + "' twice");
        }
      }
      return add(new Part(part, copy, metadata, null));
    }

    /** Small JSON state, written as {@code <name>.json}. */
    public Builder json(String part, JsonNode value) {
      if (value == null) {
        throw new IllegalArgumentException("JSON part '" + part + "' must not be null");
      }
      return add(new Part(part, null, null, value.deepCopy()));
    }

    private Builder add(Part part) {
      Manifest.requirePartName(part.name());
      if (parts.containsKey(part.name())) {
        throw new IllegalArgumentException("part '" + part.name() + "' is given twice");
      }
      parts.put(part.name(), part);
      return this;
    }

    public Checkpoint build() {
      return new Checkpoint(this);
    }
  }
}
