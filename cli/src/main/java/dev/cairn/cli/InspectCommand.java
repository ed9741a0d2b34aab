package dev.cairn.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.Manifest;
import dev.cairn.checkpoint.Verification;
import dev.cairn.checkpoint.VerifyResult;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.SafetensorsFormat;
import dev.cairn.safetensors.TensorInfo;
import dev.cairn.store.Bytes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn inspect}: what a checkpoint (or one safetensors file) holds, and whether intact. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description =
        "Show a checkpoint's manifest, parts, tensors (dtype, shape) and metadata, and verify it."
            + " Also accepts a single .safetensors file. Exit 1 when it is damaged.")
final class InspectCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "CHECKPOINT", description = "a step-N folder or a .safetensors file")
  Path path;

  @Option(names = "--json", description = "one JSON object instead of text")
  boolean json;

  @Option(
      names = {"--info-only"},
      description = "skip the checksum pass (sizes and headers are still checked)")
  boolean infoOnly;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (!Files.exists(path)) {
      throw new IllegalArgumentException("no such checkpoint: " + path);
    }
    if (Files.isRegularFile(path)) {
      return inspectFile(out);
    }
    Verification level = infoOnly ? Verification.SIZES : Verification.FULL;
    VerifyResult r = CheckpointStore.verifyFolder(path, level);
    Manifest m = r.manifest();
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("path", path.toString());
    if (m != null) {
      o.put("step", m.step());
      o.put("name", m.name());
      o.put("created", m.created().toString());
      o.put("format_version", m.formatVersion());
      o.put("world_size", m.worldSize());
      o.put("bytes", m.totalBytes());
      o.set("metrics", Json.MAPPER.valueToTree(m.metrics()));
      o.set("metadata", m.metadata());
      ArrayNode parts = o.putArray("parts");
      for (Manifest.PartEntry p : m.parts()) {
        parts.add(part(p, m));
      }
    }
    ObjectNode v = o.putObject("verification");
    boolean allSha = m != null && m.files().stream().allMatch(f -> f.sha256() != null);
    v.put("level", infoOnly ? "sizes" : allSha ? "sha256+crc32c" : "crc32c");
    v.put("ok", r.ok());
    ArrayNode problems = v.putArray("problems");
    r.problems().forEach(problems::add);
    if (json) {
      out.println(Json.MAPPER.writeValueAsString(o));
    } else {
      printText(out, o);
    }
    return r.ok() ? 0 : 1;
  }

  private ObjectNode part(Manifest.PartEntry p, Manifest m) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("name", p.name()).put("kind", p.kind()).put("file", p.file());
    m.files().stream()
        .filter(f -> f.path().equals(p.file()))
        .findFirst()
        .ifPresent(
            f -> {
              n.put("bytes", f.size());
              if (f.sha256() != null) {
                n.put("sha256", f.sha256());
              }
            });
    if (p.kind().equals("tensors")) {
      try (SafetensorsFile f = SafetensorsFile.openForInspection(path.resolve(p.file()))) {
        n.set("tensors", tensors(f));
        n.set("tensor_metadata", Json.MAPPER.valueToTree(f.metadata()));
      } catch (IOException e) {
        n.put("error", Main.oneLine(e));
      }
    }
    return n;
  }

  private static ArrayNode tensors(SafetensorsFile f) {
    ArrayNode a = Json.MAPPER.createArrayNode();
    for (TensorInfo t : f.tensors()) {
      ObjectNode x = a.addObject();
      x.put("name", t.name()).put("dtype", t.dtype().name()).put("bytes", t.byteSize());
      shape(x, t.shape());
    }
    for (SafetensorsFormat.UnknownTensor t : f.header().unknownDtypes()) {
      ObjectNode x = a.addObject();
      x.put("name", t.name()).put("dtype", t.dtype()).put("bytes", t.end() - t.begin());
      x.put("unknown_dtype", true);
      shape(x, t.shape());
    }
    return a;
  }

  private static void shape(ObjectNode x, long[] dims) {
    ArrayNode shape = x.putArray("shape");
    for (long d : dims) {
      if (d >= 0) {
        shape.add(d);
      } else {
        shape.add(new java.math.BigInteger(Long.toUnsignedString(d)));
      }
    }
  }

  private Integer inspectFile(PrintWriter out) throws IOException {
    try (SafetensorsFile f = SafetensorsFile.openForInspection(path)) {
      ObjectNode o = Json.MAPPER.createObjectNode();
      o.put("path", path.toString());
      o.put("bytes", Files.size(path));
      o.set("metadata", Json.MAPPER.valueToTree(f.metadata()));
      o.set("tensors", tensors(f));
      if (json) {
        out.println(Json.MAPPER.writeValueAsString(o));
      } else {
        out.printf("%s  (%s, safetensors)%n", path, Bytes.human(Files.size(path)));
        f.metadata().forEach((k, val) -> out.printf("  metadata %s = %s%n", k, val));
        printTensors(out, o.get("tensors"), "  ");
      }
      if (!f.header().unknownDtypes().isEmpty()) {
        spec.commandLine()
            .getErr()
            .println(
                "cairn: "
                    + path
                    + " has tensors of a dtype this Cairn does not know ("
                    + f.header().unknownDtypes().get(0).name()
                    + ": "
                    + f.header().unknownDtypes().get(0).dtype()
                    + "); they are listed but cannot be loaded");
        return 1;
      }
      return 0;
    }
  }

  private static void printTensors(
      PrintWriter out, com.fasterxml.jackson.databind.JsonNode ts, String indent) {
    for (var t : ts) {
      out.printf(
          "%s%-40s %-5s %-18s %s%n",
          indent,
          t.get("name").asText(),
          t.get("dtype").asText(),
          t.get("shape").toString(),
          Bytes.human(t.get("bytes").asLong())
              + (t.path("unknown_dtype").asBoolean() ? "  (unknown dtype: cannot be loaded)" : ""));
    }
  }

  private static void printText(PrintWriter out, ObjectNode o) {
    out.println(o.get("path").asText());
    if (o.has("step")) {
      out.printf(
          "  step %d%s, created %s, format %d, %s%s%n",
          o.get("step").asLong(),
          o.get("name").isNull() ? "" : " (name: " + o.get("name").asText() + ")",
          o.get("created").asText(),
          o.get("format_version").asInt(),
          Bytes.human(o.get("bytes").asLong()),
          o.get("world_size").asInt() > 1 ? ", saved by " + o.get("world_size") + " ranks" : "");
      if (o.get("metrics").size() > 0) {
        out.println("  metrics  " + o.get("metrics"));
      }
      if (o.get("metadata").size() > 0) {
        out.println("  metadata " + o.get("metadata"));
      }
      for (var p : o.get("parts")) {
        out.printf(
            "  part %s (%s, %s, %s)%n",
            p.get("name").asText(),
            p.get("kind").asText(),
            p.get("file").asText(),
            Bytes.human(p.path("bytes").asLong()));
        if (p.has("tensors")) {
          printTensors(out, p.get("tensors"), "    ");
        }
        if (p.has("error")) {
          out.println("    cannot read: " + p.get("error").asText());
        }
      }
    }
    var v = o.get("verification");
    if (v.get("ok").asBoolean()) {
      out.println("  verification: ok (" + v.get("level").asText() + ")");
    } else {
      out.println("  verification: DAMAGED");
      v.get("problems").forEach(p -> out.println("    " + p.asText()));
    }
  }
}
