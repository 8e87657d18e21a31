/*
 * fork.c: after the library has run once, a child created by fork() gets
 * SCE_ERROR_FORKED from every computing function at once, without entering
 * the Go runtime (which does not survive fork() and would hang), and leaves
 * its outputs untouched. The parent keeps working.
 *
 * The child arms alarm(CHILD_TIMEOUT_S), so a hang ends as a SIGALRM death
 * that the parent reports, never as a test that does not return.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "softmaxce.h"

#define CHILD_TIMEOUT_S 20

static float logits[6] = {1.0f, 2.0f, 3.0f, -1.0f, 0.5f, 0.0f};
static int64_t labels[2] = {2, 0};

static int sparse_call(float *loss, float *grad) {
    sce_options options = {0};
    options.reduction = SCE_REDUCTION_SUM;
    return sce_sparse_cross_entropy(SCE_FLOAT32, SCE_INT64, 2, 3, 1, logits, 6, labels, 2,
                                    NULL, 0, NULL, 0, &options, loss, 1, grad, 6);
}

/* child_checks returns the number of failed checks in the forked child. */
static int child_checks(void) {
    int failed = 0;
    float loss = -7.0f, grad[6], y[6], dense_labels[6] = {0, 0, 1, 1, 0, 0};
    for (int i = 0; i < 6; i++) {
        grad[i] = y[i] = -7.0f;
    }
    sce_options options = {0};
    options.mean_by = SCE_MEAN_BY_POSITIONS;

    int statuses[8];
    statuses[0] = sparse_call(&loss, grad);
    statuses[1] = sce_dense_cross_entropy(SCE_FLOAT32, 2, 3, 1, logits, 6, dense_labels, 6,
                                          NULL, 0, NULL, 0, &options, &loss, 1, grad, 6, NULL,
                                          0);
    statuses[2] = sce_softmax(SCE_FLOAT32, 2, 3, 1, logits, 6, y, 6);
    statuses[3] = sce_log_softmax(SCE_FLOAT32, 2, 3, 1, logits, 6, y, 6);
    statuses[4] = sce_softmax_backward(SCE_FLOAT32, 2, 3, 1, logits, 6, logits, 6, y, 6);
    statuses[5] = sce_log_softmax_backward(SCE_FLOAT32, 2, 3, 1, logits, 6, logits, 6, y, 6);
    statuses[6] = sce_set_num_threads(2);
    statuses[7] = -sce_get_num_threads(); /* documented as -SCE_ERROR_FORKED */
    for (int i = 0; i < 8; i++) {
        if (statuses[i] != SCE_ERROR_FORKED) {
            fprintf(stderr, "fork: child call %d returned %s, want SCE_ERROR_FORKED\n", i,
                    sce_status_name(statuses[i]));
            failed++;
        }
    }
    if (strstr(sce_last_error(), "fork") == NULL || strstr(sce_last_error(), "spawn") == NULL) {
        fprintf(stderr, "fork: child message does not explain the fix: %s\n", sce_last_error());
        failed++;
    }
    if (loss != -7.0f) {
        fprintf(stderr, "fork: child call wrote the loss\n");
        failed++;
    }
    for (int i = 0; i < 6; i++) {
        if (grad[i] != -7.0f || y[i] != -7.0f) {
            fprintf(stderr, "fork: child call wrote an output\n");
            failed++;
            break;
        }
    }
    if (strcmp(sce_version_string(), SCE_VERSION_STRING) != 0) {
        fprintf(stderr, "fork: sce_version_string() fails in the child\n");
        failed++;
    }
    return failed;
}

int main(void) {
    float loss, grad[6];
    CHECK(sparse_call(&loss, grad) == SCE_OK, "parent call before fork failed: %s",
          sce_last_error());
    float want_loss = loss;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        alarm(CHILD_TIMEOUT_S);
        _exit(child_checks() == 0 ? 0 : 1);
    }

    int wstatus;
    if (waitpid(pid, &wstatus, 0) != pid) {
        perror("waitpid");
        return 2;
    }
    if (WIFSIGNALED(wstatus)) {
        CHECK(0, "child died of signal %d%s", WTERMSIG(wstatus),
              WTERMSIG(wstatus) == SIGALRM ? " (it hung)" : "");
    } else {
        CHECK(WEXITSTATUS(wstatus) == 0, "child checks failed (exit status %d)",
              WEXITSTATUS(wstatus));
    }

    /* The parent's runtime is unaffected by the fork. */
    CHECK(sparse_call(&loss, grad) == SCE_OK, "parent call after fork failed: %s",
          sce_last_error());
    CHECK(loss == want_loss, "parent loss after fork %g, want %g", loss, want_loss);
    return check_exit_code("fork");
}
