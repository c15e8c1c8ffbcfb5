/* Command-line flags in the style grpc's interop programs take them:
 * --name=value, -name=value, --name value, and a bare --name for a bool
 * (true).  Bools accept true/false, t/f, 1/0, yes/no (any case). */
#ifndef INTEROP_FLAGS_H
#define INTEROP_FLAGS_H

#include <stdio.h>

typedef enum interop_flag_type {
  INTEROP_FLAG_BOOL,   /* dest: int* (0 or 1) */
  INTEROP_FLAG_STRING, /* dest: const char** (points into argv) */
  INTEROP_FLAG_INT     /* dest: int*, within [min, max] */
} interop_flag_type;

typedef struct interop_flag {
  const char *name; /* without dashes */
  interop_flag_type type;
  void *dest;
  long min, max; /* INTEROP_FLAG_INT only */
  const char *help;
} interop_flag;

/* Results of interop_flags_parse. */
#define INTEROP_FLAGS_OK 0
#define INTEROP_FLAGS_HELP 1   /* --help or -h: usage printed to stdout */
#define INTEROP_FLAGS_ERROR 2  /* the reason and usage went to stderr */

/* Parses argv[1..argc) against flags[0..n).  A flag given twice keeps the
 * last value.  Positional arguments are errors. */
int interop_flags_parse(int argc, char **argv, const interop_flag *flags,
                        size_t n, const char *summary);

/* Prints "usage: prog [flags]" and one line per flag. */
void interop_flags_usage(FILE *out, const char *prog, const interop_flag *flags,
                         size_t n, const char *summary);

#endif
