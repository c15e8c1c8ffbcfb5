#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_bool(const char *s, int *out) {
  static const char *const yes[] = {"true", "t", "1", "yes", "y"};
  static const char *const no[] = {"false", "f", "0", "no", "n"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = 1;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = 0;
      return 0;
    }
  }
  return -1;
}

static int parse_int(const char *s, long min, long max, int *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) return -1;
  *out = (int)v;
  return 0;
}

void interop_flags_usage(FILE *out, const char *prog, const interop_flag *flags,
                         size_t n, const char *summary) {
  fprintf(out, "usage: %s [flags]\n%s\nflags:\n", prog, summary);
  for (size_t i = 0; i < n; i++) {
    const char *arg = flags[i].type == INTEROP_FLAG_BOOL     ? "[=true|false]"
                      : flags[i].type == INTEROP_FLAG_INT    ? "=N"
                                                             : "=VALUE";
    fprintf(out, "  --%s%s\n      %s\n", flags[i].name, arg, flags[i].help);
  }
}

static const interop_flag *find(const interop_flag *flags, size_t n,
                                const char *name, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
      return &flags[i];
  return NULL;
}

static int fail(const char *prog, const interop_flag *flags, size_t n,
                const char *summary, const char *why, const char *arg) {
  fprintf(stderr, "%s: %s: %s\n", prog, why, arg);
  interop_flags_usage(stderr, prog, flags, n, summary);
  return INTEROP_FLAGS_ERROR;
}

int interop_flags_parse(int argc, char **argv, const interop_flag *flags,
                        size_t n, const char *summary) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "interop";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ||
        strcmp(a, "-help") == 0) {
      interop_flags_usage(stdout, prog, flags, n, summary);
      return INTEROP_FLAGS_HELP;
    }
    if (a[0] != '-' || a[1] == '\0')
      return fail(prog, flags, n, summary, "unexpected argument", a);
    const char *name = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const interop_flag *f = find(flags, n, name, len);
    if (!f) return fail(prog, flags, n, summary, "unknown flag", a);
    const char *val = eq ? eq + 1 : NULL;
    if (f->type == INTEROP_FLAG_BOOL) {
      /* A bare bool is true; its value must be attached ("=false"), as
       * with Go's flag package, so "--use_tls false" is not ambiguous. */
      if (!val) {
        *(int *)f->dest = 1;
      } else if (parse_bool(val, (int *)f->dest) != 0) {
        return fail(prog, flags, n, summary, "not a boolean", a);
      }
      continue;
    }
    if (!val) {
      if (i + 1 >= argc)
        return fail(prog, flags, n, summary, "missing value for", a);
      val = argv[++i];
    }
    if (f->type == INTEROP_FLAG_STRING) {
      *(const char **)f->dest = val;
    } else if (parse_int(val, f->min, f->max, (int *)f->dest) != 0) {
      return fail(prog, flags, n, summary, "not an integer in range", a);
    }
  }
  return INTEROP_FLAGS_OK;
}
