package dev.cairn.hadoop;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * Counts the HTTP requests S3A sends, by bucket and S3 operation ({@code HeadObject}, {@code
 * GetObject}, {@code ListObjectsV2}...), as they go on the wire: retries count, and nothing S3A
 * decides not to send does. Added to a client with {@link #counting(Configuration)}; each test uses
 * a bucket of its own, so counts of tests that ran before do not mix in.
 */
public final class S3Requests implements ExecutionInterceptor {
  private static final Map<String, Map<String, AtomicInteger>> BY_BUCKET =
      new ConcurrentHashMap<>();

  /** S3A makes one instance per client, by this constructor. */
  public S3Requests() {}

  /** The same settings with every request of the client counted. */
  static Configuration counting(Configuration conf) {
    Configuration c = new Configuration(conf);
    c.set("fs.s3a.audit.execution.interceptors", S3Requests.class.getName());
    return c;
  }

  @Override
  public void beforeTransmission(
      Context.BeforeTransmission context, ExecutionAttributes attributes) {
    String bucket = context.request().getValueForField("Bucket", String.class).orElse("");
    String operation = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
    BY_BUCKET
        .computeIfAbsent(bucket, b -> new ConcurrentHashMap<>())
        .computeIfAbsent(operation, o -> new AtomicInteger())
        .incrementAndGet();
  }

  /** Forgets what a bucket's requests were so far. */
  static void reset(String bucket) {
    BY_BUCKET.remove(bucket);
  }

  /** Requests to a bucket since its last reset, by operation, in name order. */
  static Map<String, Integer> of(String bucket) {
    Map<String, Integer> out = new TreeMap<>();
    BY_BUCKET.getOrDefault(bucket, Map.of()).forEach((op, n) -> out.put(op, n.get()));
    return out;
  }
}
