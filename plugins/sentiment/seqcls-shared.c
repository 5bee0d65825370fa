/* seqcls-shared.c — compiles the sequence-classification core of
 * plugins/classification into this plugin. configure builds each plugins/<dir> from
 * its own *.c only; including the sources (not copying them) keeps one copy of the
 * head math, and -fvisibility=hidden keeps the symbols private to each .so. */
#include "../classification/seqcls-config.c"
#include "../classification/seqcls-head.c"
#include "../classification/seqcls-output.c"
