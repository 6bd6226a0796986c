/* The host C tests' bookkeeping (abi_test.c, live_handle_test.c): CHECK counts and reports; main
 * prints "N passed, M failed", which tests/c_abi.rs reads. */
#ifndef PSAMPLE_TEST_CHECK_H
#define PSAMPLE_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

static void check(int ok, int line, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL line %d: %s\n", line, what);
	}
}

#define CHECK(cond) check(!!(cond), __LINE__, #cond)

#endif
