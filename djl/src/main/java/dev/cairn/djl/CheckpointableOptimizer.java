package dev.cairn.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.manager.Checkpointable;
import dev.cairn.manager.Restored;
import dev.cairn.manager.Snapshot;
import dev.cairn.safetensors.TensorInfo;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A DJL optimizer whose state (per-parameter moments, update counts, hence the learning-rate
 * schedule's position) can be saved and restored. DJL's own optimizers keep that state in private
 * fields, so a resumed DJL run restarts Adam from zero moments and step 1; subclasses here compute
 * exactly what DJL's do (same engine operators, same arguments) with the state where Cairn can
 * reach it.
 *
 * <p>DJL identifies parameters by random ids that change from process to process; the saved state
 * is keyed by the parameter's path in the block instead, which is why {@link #state(Block)} needs
 * the model's block.
 */
public abstract class CheckpointableOptimizer extends Optimizer {
  private final int beginNumUpdate;
  private final Map<String, Integer> updateCounts = new ConcurrentHashMap<>();
  // kind ("mean", "variance", "momentum") -> parameter id -> device -> state array
  private final Map<String, Map<String, Map<Device, NDArray>>> states = new LinkedHashMap<>();
  private int numUpdate;
  private volatile float learningRate = Float.NaN;

  protected CheckpointableOptimizer(Builder<?> builder, String... stateKinds) {
    super(builder);
    this.beginNumUpdate = builder.beginNumUpdate;
    for (String kind : stateKinds) {
      states.put(kind, new ConcurrentHashMap<>());
    }
  }

  /** Same counting as DJL's Optimizer: every parameter sees the largest update count so far. */
  @Override
  protected synchronized int updateCount(String parameterId) {
    int count = updateCounts.merge(parameterId, beginNumUpdate + 1, (old, one) -> old + 1);
    numUpdate = Math.max(numUpdate, count);
    return numUpdate;
  }

  /** Updates applied so far (the schedule's position). */
  public synchronized int numUpdate() {
    return numUpdate;
  }

  /** The learning rate of the latest update (NaN before the first). */
  public float learningRate() {
    return learningRate;
  }

  protected void learningRateUsed(float lr) {
    this.learningRate = lr;
  }

  /** The state array of the given kind for a parameter, zeros on first use (as DJL does). */
  protected NDArray state(String kind, String parameterId, NDArray weight) {
    return withDefaultState(
        states.get(kind), parameterId, weight.getDevice(), k -> weight.zerosLike());
  }

  /** The optimizer's name and hyperparameters, recorded with its state. */
  protected abstract ObjectNode settings();

  /** The optimizer's state as the checkpoint part {@code optimizer}. */
  public Checkpointable state(Block block) {
    return state("optimizer", block);
  }

  /** The optimizer's state as a checkpoint part; parameter names come from {@code block}. */
  public Checkpointable state(String partName, Block block) {
    return new State(partName, block);
  }

  private final class State implements Checkpointable {
    private final String name;
    private final Block block;

    State(String name, Block block) {
      this.name = name;
      this.block = block;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public void snapshot(Snapshot out) {
      ObjectNode json = JsonNodeFactory.instance.objectNode();
      ObjectNode counts = JsonNodeFactory.instance.objectNode();
      synchronized (CheckpointableOptimizer.this) {
        json.put("num_update", numUpdate);
        for (Pair<String, Parameter> p : block.getParameters()) {
          Integer c = updateCounts.get(p.getValue().getId());
          if (c != null) {
            counts.put(p.getKey(), c);
          }
        }
      }
      json.put("learning_rate", learningRate);
      json.set("update_counts", counts);
      json.set("settings", settings());
      out.json(json);
      for (Map.Entry<String, Map<String, Map<Device, NDArray>>> kind : states.entrySet()) {
        for (Pair<String, Parameter> p : block.getParameters()) {
          Map<Device, NDArray> perDevice = kind.getValue().get(p.getValue().getId());
          if (perDevice == null || perDevice.isEmpty()) {
            continue;
          }
          // Devices hold identical copies (each applies the same update); save one.
          NDArray a = perDevice.values().iterator().next();
          out.tensor(
              p.getKey() + "." + kind.getKey(),
              DTypes.of(a.getDataType()),
              a.getShape().getShape(),
              a.toByteBuffer(true));
        }
      }
    }

    @Override
    public void restore(Restored in) throws IOException {
      JsonNode json = in.json();
      if (json == null || !json.path("num_update").isInt()) {
        throw new IllegalStateException("no optimizer state saved in part '" + name + "'");
      }
      String savedType = json.path("settings").path("optimizer").asText();
      String type = settings().path("optimizer").asText();
      if (!savedType.equals(type)) {
        throw new IllegalStateException(
            "the checkpoint holds " + savedType + " state but the optimizer is " + type);
      }
      Map<String, TensorInfo> saved = new HashMap<>();
      for (TensorInfo t : in.tensors()) {
        saved.put(t.name(), t);
      }
      synchronized (CheckpointableOptimizer.this) {
        updateCounts.clear();
        for (Map<String, Map<Device, NDArray>> m : states.values()) {
          m.values().forEach(perDevice -> perDevice.values().forEach(NDArray::close));
          m.clear();
        }
        numUpdate = json.get("num_update").asInt();
        JsonNode counts = json.path("update_counts");
        for (Pair<String, Parameter> p : block.getParameters()) {
          String id = p.getValue().getId();
          if (counts.has(p.getKey())) {
            updateCounts.put(id, counts.get(p.getKey()).asInt());
          }
          NDArray weight = p.getValue().getArray();
          for (Map.Entry<String, Map<String, Map<Device, NDArray>>> kind : states.entrySet()) {
            TensorInfo t = saved.get(p.getKey() + "." + kind.getKey());
            if (t == null) {
              continue;
            }
            ModelState.check(
                t.name(), t, DTypes.of(weight.getDataType()), weight.getShape().getShape());
            NDArray s = weight.zerosLike();
            DTypes.copyInto(s, in.tensor(t.name()));
            s.detach(); // owned by the optimizer, as DJL's own state arrays are
            Map<Device, NDArray> perDevice = new ConcurrentHashMap<>();
            perDevice.put(weight.getDevice(), s);
            kind.getValue().put(id, perDevice);
          }
        }
      }
      learningRate = (float) json.path("learning_rate").asDouble(Double.NaN);
    }
  }

  /** DJL's optimizer builder, remembering the one setting DJL keeps private. */
  public abstract static class Builder<T extends Builder<T>> extends OptimizerBuilder<T> {
    private int beginNumUpdate;

    @Override
    public T optBeginNumUpdate(int beginNumUpdate) {
      this.beginNumUpdate = beginNumUpdate;
      return super.optBeginNumUpdate(beginNumUpdate);
    }
  }
}
