/* A source of one layer that includes TCET_PROBE_HEADER (tests/cmake/layers.cmake):
 * it compiles when the header belongs to that layer or one below it, and
 * must fail ("No such file") when the header belongs to a layer above. */
#include TCET_PROBE_HEADER

int tcet_layer_probe(void);
int tcet_layer_probe(void) { return 0; }
