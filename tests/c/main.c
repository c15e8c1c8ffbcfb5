/* Runs every C suite.  Check's CK_RUN_SUITE=name runs one. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

Suite *codec_suite(void);
Suite *rpc_suite(void);
Suite *threads_suite(void);
Suite *server_suite(void);
Suite *faults_suite(void);
Suite *tls_suite(void);
Suite *pb_suite(void);

int main(void) {
  /* SIGPIPE keeps its default action: the library must never raise it
   * (a peer closing mid-write would kill the test run). */
  Suite *(*all[])(void) = {codec_suite, rpc_suite, threads_suite, server_suite,
                           faults_suite, tls_suite, pb_suite};
  SRunner *sr = srunner_create(all[0]());
  for (size_t i = 1; i < sizeof(all) / sizeof(all[0]); i++)
    srunner_add_suite(sr, all[i]());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
