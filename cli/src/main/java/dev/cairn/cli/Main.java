package dev.cairn.cli;

/** Entry point of the {@code cairn} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(0);
  }
}
