package dev.cairn.store;

import java.io.IOException;
import java.net.URI;
import java.util.Map;

/**
 * Opens storage for URIs of schemes the local disk does not serve ({@code hdfs://}, {@code
 * s3a://}): found with {@link java.util.ServiceLoader}, so a backend module on the classpath adds
 * its schemes without core knowing it exists.
 */
public interface StorageProvider {

  /** Whether this provider may be able to open URIs of this scheme (lower case). */
  boolean handles(String scheme);

  /**
   * Opens storage rooted at {@code root}, which need not exist yet.
   *
   * @param settings backend settings from the command line ({@code -D key=value}), applied over the
   *     backend's own configuration files
   * @throws IllegalArgumentException with a one-line reason when the scheme is unknown to it after
   *     all, or the URI is malformed
   */
  Storage open(URI root, Map<String, String> settings) throws IOException;
}
