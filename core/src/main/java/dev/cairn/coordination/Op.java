package dev.cairn.coordination;

/** The three collective calls, with their names on the wire and in messages. */
enum Op {
  BARRIER("barrier"),
  ALL_GATHER("allGather"),
  BROADCAST("broadcast");

  final String wire;

  Op(String wire) {
    this.wire = wire;
  }

  static Op fromWire(String s) {
    for (Op op : values()) {
      if (op.wire.equals(s)) {
        return op;
      }
    }
    throw new IllegalArgumentException("unknown call '" + s + "'");
  }
}
