/*
 * check.h: assertion helpers shared by the C tests of softmaxce.
 *
 * CHECK records a failure with its location and goes on, so one run lists
 * every broken case; a test program returns check_exit_code() from main.
 */
#ifndef SOFTMAXCE_TESTS_CHECK_H
#define SOFTMAXCE_TESTS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

static void check_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: FAIL: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    check_failures++;
}

/* CHECK(cond, fmt, ...) records a failure with a message when cond is false. */
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            check_fail(__FILE__, __LINE__, __VA_ARGS__);   \
        }                                                  \
    } while (0)

static int check_exit_code(const char *program) {
    if (check_failures > 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", program, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", program);
    return 0;
}

#endif /* SOFTMAXCE_TESTS_CHECK_H */
