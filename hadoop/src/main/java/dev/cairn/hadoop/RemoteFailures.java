package dev.cairn.hadoop;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;

/**
 * Hadoop's and the AWS SDK's failures as one line a person can act on: what is wrong (no bucket, no
 * credentials, refused credentials, permission denied, network unreachable) and what to check. The
 * original exception stays the cause. Classes of optional FileSystems (S3A) are matched by name, so
 * this module does not need them at compile time.
 */
final class RemoteFailures {
  private RemoteFailures() {}

  /** A clearer exception for {@code e}, or {@code e} itself when it already says enough. */
  static IOException explain(IOException e, String location) {
    String why = reason(e, location);
    if (why == null) {
      return e;
    }
    return new IOException(why, e);
  }

  private static String reason(IOException e, String location) {
    // The specific causes first, wherever they are in the chain: S3A wraps a refused signature
    // in an AccessDeniedException, which alone would read as a permission problem.
    for (Throwable t = e; t != null; t = t.getCause()) {
      String name = t.getClass().getSimpleName();
      String m = firstLine(t.getMessage());
      if (name.equals("UnknownStoreException") || name.equals("NoSuchBucketException")) {
        return "the bucket of "
            + location
            + " does not exist: create it, or check the bucket name and fs.s3a.endpoint";
      }
      if (name.equals("NoAuthWithAWSException") || name.equals("NoAwsCredentialsException")) {
        return "no credentials for "
            + location
            + ": set fs.s3a.access.key and fs.s3a.secret.key (-D on the command line or"
            + " core-site.xml), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a credentials"
            + " provider";
      }
      if (m.contains("InvalidAccessKeyId")
          || m.contains("SignatureDoesNotMatch")
          || m.contains("signature we calculated does not match")
          || m.contains("InvalidClientTokenId")) {
        return "the credentials were refused for "
            + location
            + " (wrong access key or secret): check fs.s3a.access.key and fs.s3a.secret.key";
      }
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      String name = t.getClass().getSimpleName();
      String m = firstLine(t.getMessage());
      if (name.equals("AccessControlException")
          || t instanceof java.nio.file.AccessDeniedException
          || m.contains("Permission denied")
          || m.contains("AccessDenied")) {
        return "permission denied on "
            + location
            + ": check the user this job runs as (HADOOP_USER_NAME, the IAM role) and the"
            + " folder's permissions or bucket policy";
      }
      if (t instanceof ConnectException
          || t instanceof NoRouteToHostException
          || t instanceof UnknownHostException
          || t instanceof SocketTimeoutException
          || name.equals("ConnectTimeoutException")) {
        return "cannot reach "
            + location
            + " ("
            + name
            + (m.isEmpty() ? "" : ": " + m)
            + "): check the address, fs.s3a.endpoint or fs.defaultFS, and the network";
      }
    }
    return null;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.length() > 300 ? line.substring(0, 300) + "…" : line;
  }
}
