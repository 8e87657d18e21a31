/*
 * Internal interface of the Python binding (python/softmaxce/_lib.py and the
 * extension module python/softmaxce/_fastpath.c). It is not installed with
 * softmaxce.h, is not part of the public C interface, and may change in any
 * release. C callers use sce_sparse_cross_entropy.
 *
 * ctypes converts each argument of a call separately. A ctypes call of
 * sce_sparse_cross_entropy with its 18 arguments took about 3 us for an empty
 * problem, and one of sce_private_sparse_cross_entropy about 0.55 us (timeit,
 * Python 3.11, on a 2-core Xeon VM). The binding packs every argument, the
 * fields of sce_options included, into one buffer with struct.Struct and
 * passes its address as the only argument. Every field is 8 bytes wide
 * (int64_t, a pointer as uint64_t, or double), in native byte order and
 * without padding, so the Python format string is a plain list of "q", "Q"
 * and "d". sce_private_sparse_args_size returns the size, which the binding
 * compares with its format when it loads the library.
 */
#ifndef SOFTMAXCE_PRIVATE_H
#define SOFTMAXCE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sce_private_sparse_args {
    int64_t dtype;
    int64_t label_dtype;
    int64_t outer;
    int64_t classes;
    int64_t inner;
    uint64_t logits;
    int64_t logits_len;
    uint64_t labels;
    int64_t labels_len;
    uint64_t weight;
    int64_t weight_len;
    uint64_t grad_output;
    int64_t grad_output_len;
    int64_t reduction;
    int64_t has_ignore_index;
    int64_t ignore_index;
    double label_smoothing;
    double z_loss;
    int64_t mean_by;
    int64_t flags;
    uint64_t loss;
    int64_t loss_len;
    uint64_t grad;
    int64_t grad_len;
};


/* sce_private_sparse_cross_entropy runs sce_sparse_cross_entropy with the
 * arguments in *packed, a struct sce_private_sparse_args that need not be
 * aligned. It returns the status of sce_sparse_cross_entropy. */
int sce_private_sparse_cross_entropy(const void *packed);

/* sce_private_sparse_args_size returns sizeof(struct sce_private_sparse_args). */
size_t sce_private_sparse_args_size(void);

#ifdef __cplusplus
}
#endif

#endif /* SOFTMAXCE_PRIVATE_H */
