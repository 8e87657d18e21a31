// C half of the shim: the parts that must not (or need not) enter Go.
// Version and status names, the per-thread error message, and the fork guard
// that stops a forked child from calling into a Go runtime that did not
// survive fork().

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "softmaxce.h"
#include "_cgo_export.h"

static __thread char last_error[1024];
static volatile int forked_child;

static void mark_forked_child(void) { forked_child = 1; }

__attribute__((constructor)) static void install_fork_guard(void) {
    pthread_atfork(NULL, NULL, mark_forked_child);
}

// sceSetError stores msg (n bytes, not NUL-terminated) as this thread's
// last error, truncated to fit.
void sceSetError(const char *msg, size_t n) {
    if (n >= sizeof last_error) {
        n = sizeof last_error - 1;
    }
    memcpy(last_error, msg, n);
    last_error[n] = '\0';
}

static int reject_in_forked_child(void) {
    snprintf(last_error, sizeof last_error,
             "softmaxce was loaded before this process forked, and the Go runtime "
             "it uses does not survive fork(): load it after forking, or start "
             "worker processes with the spawn method (multiprocessing "
             "set_start_method(\"spawn\"))");
    return SCE_ERROR_FORKED;
}

unsigned sce_version_number(void) { return SCE_VERSION_NUMBER; }

const char *sce_version_string(void) { return SCE_VERSION_STRING; }

const char *sce_status_name(int status) {
    switch (status) {
    case SCE_OK:
        return "SCE_OK";
    case SCE_ERROR_LABEL_OUT_OF_RANGE:
        return "SCE_ERROR_LABEL_OUT_OF_RANGE";
    case SCE_ERROR_INVALID_SHAPE:
        return "SCE_ERROR_INVALID_SHAPE";
    case SCE_ERROR_INVALID_ARGUMENT:
        return "SCE_ERROR_INVALID_ARGUMENT";
    case SCE_ERROR_INVALID_DTYPE:
        return "SCE_ERROR_INVALID_DTYPE";
    case SCE_ERROR_OVERLAP:
        return "SCE_ERROR_OVERLAP";
    case SCE_ERROR_FORKED:
        return "SCE_ERROR_FORKED";
    case SCE_ERROR_INTERNAL:
        return "SCE_ERROR_INTERNAL";
    }
    return "SCE_ERROR_UNKNOWN";
}

const char *sce_last_error(void) { return last_error; }

int sce_sparse_cross_entropy(int dtype, int label_dtype, int64_t outer, int64_t classes,
                             int64_t inner, const void *logits, int64_t logits_len,
                             const void *labels, int64_t labels_len, const void *weight,
                             int64_t weight_len, const void *grad_output,
                             int64_t grad_output_len, const sce_options *options, void *loss,
                             int64_t loss_len, void *grad, int64_t grad_len) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoSparseCrossEntropy(dtype, label_dtype, outer, classes, inner, (void *)logits,
                                   logits_len, (void *)labels, labels_len, (void *)weight,
                                   weight_len, (void *)grad_output, grad_output_len,
                                   (void *)options, loss, loss_len, grad, grad_len);
}

int sce_dense_cross_entropy(int dtype, int64_t outer, int64_t classes, int64_t inner,
                            const void *logits, int64_t logits_len, const void *labels,
                            int64_t labels_len, const void *weight, int64_t weight_len,
                            const void *grad_output, int64_t grad_output_len,
                            const sce_options *options, void *loss, int64_t loss_len,
                            void *grad, int64_t grad_len, void *grad_labels,
                            int64_t grad_labels_len) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoDenseCrossEntropy(dtype, outer, classes, inner, (void *)logits, logits_len,
                                  (void *)labels, labels_len, (void *)weight, weight_len,
                                  (void *)grad_output, grad_output_len, (void *)options,
                                  loss, loss_len, grad, grad_len, grad_labels,
                                  grad_labels_len);
}

int sce_softmax(int dtype, int64_t outer, int64_t classes, int64_t inner, const void *x,
                int64_t x_len, void *y, int64_t y_len) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoUnary(0, dtype, outer, classes, inner, (void *)x, x_len, y, y_len);
}

int sce_log_softmax(int dtype, int64_t outer, int64_t classes, int64_t inner, const void *x,
                    int64_t x_len, void *y, int64_t y_len) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoUnary(1, dtype, outer, classes, inner, (void *)x, x_len, y, y_len);
}

int sce_softmax_backward(int dtype, int64_t outer, int64_t classes, int64_t inner,
                         const void *y, int64_t y_len, const void *dy, int64_t dy_len,
                         void *dx, int64_t dx_len) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoBackward(0, dtype, outer, classes, inner, (void *)y, y_len, (void *)dy,
                         dy_len, dx, dx_len);
}

int sce_log_softmax_backward(int dtype, int64_t outer, int64_t classes, int64_t inner,
                             const void *y, int64_t y_len, const void *dy, int64_t dy_len,
                             void *dx, int64_t dx_len) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoBackward(1, dtype, outer, classes, inner, (void *)y, y_len, (void *)dy,
                         dy_len, dx, dx_len);
}

int sce_set_num_threads(int n) {
    if (forked_child) {
        return reject_in_forked_child();
    }
    return sceGoSetNumThreads(n);
}

int sce_get_num_threads(void) {
    if (forked_child) {
        return -reject_in_forked_child();
    }
    return sceGoGetNumThreads();
}
