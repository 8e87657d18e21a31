// C half of the shim: the parts that must not (or need not) enter Go.
// Version and status names, the per-thread error message, and the fork guard
// that stops a forked child from calling into a Go runtime that did not
// survive fork().

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "softmaxce.h"
#include "softmaxce_private.h"
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

/* The packed-argument entry point of the Python binding: softmaxce_private.h. */

size_t sce_private_sparse_args_size(void) { return sizeof(struct sce_private_sparse_args); }

// check_int32 rejects a field of the packed arguments that the public
// interface takes as a 32-bit int, so that no out-of-range value wraps into a
// valid code.
static int check_int32(const char *name, int64_t value) {
    if (value < INT32_MIN || value > INT32_MAX) {
        snprintf(last_error, sizeof last_error,
                 "invalid argument: %s %lld does not fit in a 32-bit int", name,
                 (long long)value);
        return SCE_ERROR_INVALID_ARGUMENT;
    }
    return SCE_OK;
}

// sce_private_sparse_cross_entropy runs sce_sparse_cross_entropy with the
// arguments in *packed, a struct sce_private_sparse_args. The caller only
// guarantees that it is readable, not that it is aligned, so it is copied
// before use.
int sce_private_sparse_cross_entropy(const void *packed) {
    struct sce_private_sparse_args a;
    sce_options options;
    int status;

    if (forked_child) {
        return reject_in_forked_child();
    }
    if (packed == NULL) {
        snprintf(last_error, sizeof last_error, "invalid argument: packed arguments are NULL");
        return SCE_ERROR_INVALID_ARGUMENT;
    }
    memcpy(&a, packed, sizeof a);
    if ((status = check_int32("dtype", a.dtype)) != SCE_OK ||
        (status = check_int32("label_dtype", a.label_dtype)) != SCE_OK ||
        (status = check_int32("reduction", a.reduction)) != SCE_OK ||
        (status = check_int32("has_ignore_index", a.has_ignore_index)) != SCE_OK ||
        (status = check_int32("mean_by", a.mean_by)) != SCE_OK ||
        (status = check_int32("flags", a.flags)) != SCE_OK) {
        return status;
    }

    options.reduction = (int32_t)a.reduction;
    options.has_ignore_index = (int32_t)a.has_ignore_index;
    options.ignore_index = a.ignore_index;
    options.label_smoothing = a.label_smoothing;
    options.z_loss = a.z_loss;
    options.mean_by = (int32_t)a.mean_by;
    options.flags = (int32_t)a.flags;
    return sce_sparse_cross_entropy(
        (int)a.dtype, (int)a.label_dtype, a.outer, a.classes, a.inner,
        (const void *)(uintptr_t)a.logits, a.logits_len, (const void *)(uintptr_t)a.labels,
        a.labels_len, (const void *)(uintptr_t)a.weight, a.weight_len,
        (const void *)(uintptr_t)a.grad_output, a.grad_output_len, &options,
        (void *)(uintptr_t)a.loss, a.loss_len, (void *)(uintptr_t)a.grad, a.grad_len);
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
