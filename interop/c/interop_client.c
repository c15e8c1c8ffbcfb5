/* grpc's interop test client on cgrpc.
 *
 *   interop_client --server_host=127.0.0.1 --server_port=N
 *                  --test_case=NAME[,NAME...]|all [--use_tls=true
 *                  --use_test_ca=true --ca_file=CA
 *                  --server_host_override=foo.test.google.fr]
 *
 * Runs the cases in order on one channel and prints "NAME: PASS" or
 * "NAME: FAIL reason" for each.  Exit status: 0 if all pass, 1 if any
 * fails (or the channel cannot be set up), 2 for a usage error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "common.h"
#include "flags.h"
#include "grpc/testing/test.cgrpc.h"

/* Deadline of every call but timeout_on_sleeping_server's. */
#define DEFAULT_RPC_TIMEOUT_MS 10000
#define MAX_SELECTED 64

/* Splits the comma-separated list into selected[]; "all" means every
 * case.  Returns the count, or -1 after naming a bad entry on stderr. */
static int select_cases(const char *list, const interop_case **selected) {
  size_t ncases, count = 0;
  const interop_case *cases = interop_cases(&ncases);
  const char *p = list;
  while (p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char name[64];
    if (len == 0 || len >= sizeof(name)) {
      fprintf(stderr, "interop_client: bad --test_case entry in \"%s\"\n", list);
      return -1;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    if (strcmp(name, "all") == 0) {
      if (count + ncases > MAX_SELECTED) {
        fprintf(stderr, "interop_client: more than %d test cases\n", MAX_SELECTED);
        return -1;
      }
      for (size_t i = 0; i < ncases; i++) selected[count++] = &cases[i];
    } else {
      const interop_case *c = interop_case_find(name);
      if (!c) {
        fprintf(stderr, "interop_client: unknown test case \"%s\"; known: all", name);
        for (size_t i = 0; i < ncases; i++) fprintf(stderr, ", %s", cases[i].name);
        fprintf(stderr, "\n");
        return -1;
      }
      if (count == MAX_SELECTED) {
        fprintf(stderr, "interop_client: more than %d test cases\n", MAX_SELECTED);
        return -1;
      }
      selected[count++] = c;
    }
    p = comma ? comma + 1 : NULL;
  }
  return (int)count;
}

int main(int argc, char **argv) {
  interop_client_config cfg = {"127.0.0.1", 0, NULL, 0, 0, NULL};
  const char *test_case = NULL, *tls_ca_file = NULL;
  int timeout_ms = DEFAULT_RPC_TIMEOUT_MS;
  const interop_flag flags[] = {
      {"server_host", INTEROP_FLAG_STRING, &cfg.server_host, 0, 0,
       "server address (default 127.0.0.1)"},
      {"server_port", INTEROP_FLAG_INT, &cfg.server_port, 1, 65535,
       "server port (required)"},
      {"test_case", INTEROP_FLAG_STRING, &test_case, 0, 0,
       "case name, comma-separated names, or all (required)"},
      {"use_tls", INTEROP_FLAG_BOOL, &cfg.use_tls, 0, 0,
       "TLS with ALPN h2 instead of h2c (default false)"},
      {"use_test_ca", INTEROP_FLAG_BOOL, &cfg.use_test_ca, 0, 0,
       "trust the test CA of --ca_file instead of the system roots"},
      {"ca_file", INTEROP_FLAG_STRING, &cfg.ca_file, 0, 0,
       "CA certificates, PEM"},
      {"tls_ca_file", INTEROP_FLAG_STRING, &tls_ca_file, 0, 0, "alias of --ca_file"},
      {"server_host_override", INTEROP_FLAG_STRING, &cfg.server_host_override, 0, 0,
       "name to verify the certificate against (SNI) and send as :authority"},
      {"rpc_timeout_ms", INTEROP_FLAG_INT, &timeout_ms, 1, 3600000,
       "deadline of each call (default 10000)"},
  };
  const size_t nflags = sizeof(flags) / sizeof(flags[0]);
  const char *summary = "grpc interop client (cgrpc): runs grpc's standard test cases";
  const interop_case *selected[MAX_SELECTED];
  int rc = interop_flags_parse(argc, argv, flags, nflags, summary);
  if (rc == INTEROP_FLAGS_HELP) return 0;
  if (rc != INTEROP_FLAGS_OK) return 2;
  if (tls_ca_file) cfg.ca_file = tls_ca_file;
  const char *usage_err = NULL;
  if (!test_case)
    usage_err = "--test_case is required";
  else if (cfg.server_port == 0)
    usage_err = "--server_port is required";
  else if (cfg.use_tls && cfg.use_test_ca && !(cfg.ca_file && cfg.ca_file[0]))
    usage_err = "--use_test_ca=true needs --ca_file (grpc's test CA is not built in)";
  if (usage_err) {
    fprintf(stderr, "%s: %s\n", argv[0], usage_err);
    interop_flags_usage(stderr, argv[0], flags, nflags, summary);
    return 2;
  }
  int nsel = select_cases(test_case, selected);
  if (nsel < 0) return 2;
  signal(SIGPIPE, SIG_IGN);

  interop_client c = {0};
  char err[512];
  uint8_t *zeros = calloc(1, INTEROP_MAX_REQUEST);
  if (!zeros) {
    fprintf(stderr, "interop_client: out of memory\n");
    return 1;
  }
  c.zeros = zeros;
  c.timeout_ms = timeout_ms;
  rc = interop_channel_create(&c.ch, &cfg, err, sizeof(err));
  if (rc == CGRPC_OK) {
    rc = grpc_testing_test_service_stub_create(&c.test, c.ch);
    if (rc == CGRPC_OK) rc = grpc_testing_unimplemented_service_stub_create(&c.unimpl, c.ch);
    if (rc != CGRPC_OK) snprintf(err, sizeof(err), "stub: %s", cgrpc_strerror(rc));
  }
  int failed = 0;
  if (rc != CGRPC_OK) {
    /* Every selected case fails for the same reason, each on its line. */
    for (int i = 0; i < nsel; i++) printf("%s: FAIL %s\n", selected[i]->name, err);
    failed = nsel;
  } else {
    for (int i = 0; i < nsel; i++) {
      char why[1024] = "";
      int64_t t0 = interop_now_ms();
      int r = selected[i]->run(&c, why, sizeof(why));
      if (r == 0) {
        printf("%s: PASS\n", selected[i]->name);
      } else {
        printf("%s: FAIL %s\n", selected[i]->name, why);
        failed++;
      }
      fflush(stdout);
      fprintf(stderr, "interop_client: %s took %lld ms\n", selected[i]->name,
              (long long)(interop_now_ms() - t0));
    }
  }
  if (failed)
    fprintf(stderr, "interop_client: %d of %d cases failed\n", failed, nsel);
  cgrpc_stub_destroy(c.unimpl);
  cgrpc_stub_destroy(c.test);
  cgrpc_channel_destroy(c.ch);
  free(zeros);
  return failed ? 1 : 0;
}
