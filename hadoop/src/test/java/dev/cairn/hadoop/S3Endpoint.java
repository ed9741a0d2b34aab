package dev.cairn.hadoop;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 endpoint (S3Proxy over a local blob store) on 127.0.0.1, and the S3A settings that
 * reach it; buckets are made with the AWS SDK, as a user would make theirs.
 */
public final class S3Endpoint {
  private static final AtomicInteger BUCKETS = new AtomicInteger();

  private S3Endpoint() {}

  public static S3ProxyExtension extension() {
    return S3ProxyExtension.builder().withCredentials("cairn-access", "cairn-secret").build();
  }

  /** S3A settings for the endpoint (the FileSystem cache is off: each test has its own port). */
  public static Configuration configuration(S3ProxyExtension proxy) {
    Configuration conf = new Configuration();
    settings(proxy).forEach(conf::set);
    return conf;
  }

  /** The same settings as strings, to hand to another process. */
  public static Map<String, String> settings(S3ProxyExtension proxy) {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("fs.s3a.endpoint", proxy.getUri().toString());
    s.put("fs.s3a.endpoint.region", "us-east-1");
    s.put("fs.s3a.path.style.access", "true");
    s.put("fs.s3a.connection.ssl.enabled", "false");
    s.put("fs.s3a.access.key", proxy.getAccessKey());
    s.put("fs.s3a.secret.key", proxy.getSecretKey());
    s.put(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    s.put("fs.s3a.impl.disable.cache", "true");
    s.put("fs.s3a.attempts.maximum", "2");
    s.put("fs.s3a.retry.limit", "2");
    return s;
  }

  /** A new bucket's root URI. */
  public static URI freshBucket(S3ProxyExtension proxy) {
    String name = "cairn-" + BUCKETS.incrementAndGet();
    try (S3Client s3 =
        S3Client.builder()
            .endpointOverride(proxy.getUri())
            .region(Region.US_EAST_1)
            .forcePathStyle(true)
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(proxy.getAccessKey(), proxy.getSecretKey())))
            .build()) {
      s3.createBucket(b -> b.bucket(name));
    }
    return URI.create("s3a://" + name + "/");
  }
}
