package dev.cairn.web;

import dev.cairn.store.AtomicFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The dashboard's secret: 256 random bits as 64 hex digits, kept in a file only the owner can read
 * so that a restarted server (or a second one on the same runs) accepts the same bookmarked URL. A
 * file that others can read, or that belongs to another user (who chose, and so knows, its token),
 * is not trusted and is replaced.
 */
final class AccessToken {
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final byte[] value;
  private final Path file;

  private AccessToken(String value, Path file) {
    this.value = value.getBytes(StandardCharsets.US_ASCII);
    this.file = file;
  }

  /** Reads the token file when it is sound and private, otherwise writes a new token there. */
  static AccessToken loadOrCreate(Path file) throws IOException {
    boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    if (Files.isRegularFile(file)) {
      String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
      boolean private_ =
          !posix
              || (OWNER_ONLY.containsAll(Files.getPosixFilePermissions(file))
                  && ours(Files.getOwner(file)));
      if (HEX64.matcher(text).matches() && private_) {
        return new AccessToken(text, file);
      }
    }
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String token = HexFormat.of().formatHex(raw);
    Path dir = file.toAbsolutePath().getParent();
    if (dir == null) {
      throw new IOException("no folder for the token file " + file);
    }
    Files.createDirectories(dir);
    byte[] content = (token + "\n").getBytes(StandardCharsets.US_ASCII);
    if (posix) {
      AtomicFile.write(
          file,
          out -> out.write(content),
          AtomicFile.Sync.DURABLE,
          PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    } else {
      AtomicFile.write(file, content, AtomicFile.Sync.DURABLE);
    }
    return new AccessToken(token, file);
  }

  /**
   * Whether a file's owner is the user this process runs as. On Linux /proc/self belongs to the
   * process's effective user; elsewhere the user.name property is looked up.
   */
  private static boolean ours(UserPrincipal owner) {
    try {
      Path self = Path.of("/proc/self");
      UserPrincipal me =
          Files.exists(self)
              ? Files.getOwner(self)
              : FileSystems.getDefault()
                  .getUserPrincipalLookupService()
                  .lookupPrincipalByName(System.getProperty("user.name"));
      return me.equals(owner);
    } catch (IOException | RuntimeException e) {
      return false; // unknown: a new token costs only a new URL
    }
  }

  /** Constant-time comparison, so timing tells nothing about how much of a guess was right. */
  boolean matches(String candidate) {
    if (candidate == null) {
      return false;
    }
    return MessageDigest.isEqual(value, candidate.getBytes(StandardCharsets.US_ASCII));
  }

  String value() {
    return new String(value, StandardCharsets.US_ASCII);
  }

  Path file() {
    return file;
  }
}
