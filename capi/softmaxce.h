/*
 * softmaxce.h: softmax cross-entropy loss and gradient, C interface.
 *
 * Copyright (c) 2026 the softmaxce authors. MIT License.
 *
 * The library is written in Go and built with `go build -buildmode=c-shared`
 * into libsoftmaxce.so. This header is written by hand; it uses C types only.
 *
 * Layout
 *   Every array is dense and row-major. A problem has the shape
 *   (outer, classes, inner): the class axis has stride `inner`, so
 *     (N, C)              is outer = N, classes = C, inner = 1,
 *     (C,)                is outer = 1, classes = C, inner = 1,
 *     (N, C, d1, ..., dk) is outer = N, classes = C, inner = d1 * ... * dk,
 *     (d0, ..., C) with the class axis last is outer = d0 * ..., inner = 1.
 *   A "position" is one (outer, inner) pair; there are outer * inner of them.
 *   Integer labels and per-position losses are stored as (outer, inner).
 *
 * Errors
 *   Every function that computes returns an int status, SCE_OK (0) on success.
 *   All arguments and every label are checked before anything is written, so
 *   on error every output buffer is left untouched. sce_last_error() returns
 *   a message naming the argument, the offending value and what is valid.
 *
 * Aliasing
 *   An output buffer may be exactly the same array as an input of the same
 *   length (in place, for example the gradient written over the logits).
 *   Any other overlap between an output and an input or another output is
 *   rejected with SCE_ERROR_OVERLAP.
 *
 * Threads and fork
 *   All functions are thread-safe. The Go runtime does not survive fork():
 *   in a child process forked after the library was loaded every function
 *   returns SCE_ERROR_FORKED without entering Go.
 */
#ifndef SOFTMAXCE_H
#define SOFTMAXCE_H

#include <stdint.h> /* int64_t */

#ifdef __cplusplus
extern "C" {
#endif

/* SCE_API marks exported functions; define it before including to override. */
#ifndef SCE_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define SCE_API __attribute__((visibility("default")))
#else
#define SCE_API
#endif
#endif

/* ---- Version ---------------------------------------------------------- */

#define SCE_VERSION_MAJOR 0
#define SCE_VERSION_MINOR 1
#define SCE_VERSION_PATCH 0
#define SCE_VERSION_NUMBER \
    (SCE_VERSION_MAJOR * 10000 + SCE_VERSION_MINOR * 100 + SCE_VERSION_PATCH)
#define SCE_VERSION_STRING "0.1.0"

/**
 * sce_version_number() - version of the loaded library.
 *
 * @return SCE_VERSION_NUMBER as the library was built; compare it with the
 *         macro to detect a header that does not match the library.
 */
SCE_API unsigned sce_version_number(void);

/**
 * sce_version_string() - version of the loaded library as "MAJOR.MINOR.PATCH".
 *
 * @return a static, NUL-terminated string; never NULL.
 */
SCE_API const char *sce_version_string(void);

/* ---- Status codes (values are pinned and never reused) ------------------ */

#define SCE_OK 0
#define SCE_ERROR_LABEL_OUT_OF_RANGE 1 /* a label is outside [0, classes) */
#define SCE_ERROR_INVALID_SHAPE 2      /* a dimension or length is wrong */
#define SCE_ERROR_INVALID_ARGUMENT 3   /* an option or weight value is wrong */
#define SCE_ERROR_INVALID_DTYPE 4      /* an unknown dtype code */
#define SCE_ERROR_OVERLAP 5            /* an output overlaps another buffer */
#define SCE_ERROR_FORKED 6             /* called in a child after fork() */
#define SCE_ERROR_INTERNAL 7           /* a bug: please report the message */

/**
 * sce_status_name() - name of a status code.
 *
 * @status a value returned by any function of this library.
 * @return a static string such as "SCE_ERROR_INVALID_SHAPE", or
 *         "SCE_ERROR_UNKNOWN" for a value that is not a status code.
 */
SCE_API const char *sce_status_name(int status);

/**
 * sce_last_error() - message of the last failed call made by this thread.
 *
 * The message is kept per thread, so concurrent callers never see each
 * other's messages. A successful call does not clear it.
 *
 * @return a NUL-terminated string owned by the library, valid until the
 *         next call from the same thread; "" when no call has failed.
 */
SCE_API const char *sce_last_error(void);

/* ---- Codes for dtypes and options ------------------------------------- */

#define SCE_FLOAT32 1
#define SCE_FLOAT64 2
#define SCE_INT32 3
#define SCE_INT64 4

#define SCE_REDUCTION_NONE 0 /* one loss per position */
#define SCE_REDUCTION_SUM 1  /* one loss: the sum over positions */
#define SCE_REDUCTION_MEAN 2 /* one loss: the sum divided by a denominator */

/* Bits of sce_options.flags. */
#define SCE_FLAG_KL_DIVERGENCE 1 /* dense labels: subtract the target entropy */

/* Denominators of SCE_REDUCTION_MEAN. */
#define SCE_MEAN_BY_WEIGHT_SUM 0  /* sum of w[label] over kept positions (torch, ONNX) */
#define SCE_MEAN_BY_VALID_COUNT 1 /* number of kept positions (chainer) */
#define SCE_MEAN_BY_OUTER 2       /* outer, the batch size (chainer normalize=False) */
#define SCE_MEAN_BY_POSITIONS 3   /* outer * inner, every position (torch soft targets) */

/**
 * struct sce_options - options of a cross-entropy call.
 *
 * Set every field; a zeroed struct means: reduction none, no ignored label,
 * no smoothing, no z-loss, mean by weight sum.
 *
 * @reduction         SCE_REDUCTION_NONE, _SUM or _MEAN.
 * @has_ignore_index  nonzero to skip positions whose label is ignore_index.
 * @ignore_index      the label value to skip; any value, even inside
 *                    [0, classes), in which case that class is skipped.
 * @label_smoothing   epsilon in [0, 1]: the target is (1 - eps) * onehot +
 *                    eps / classes, weighted as PyTorch's cross_entropy.
 * @z_loss            coefficient >= 0 of an extra z_loss * logsumexp^2 term
 *                    per kept position.
 * @mean_by           SCE_MEAN_BY_* denominator for SCE_REDUCTION_MEAN.
 * @flags             SCE_FLAG_* bits; 0 for integer labels.
 */
typedef struct sce_options {
    int32_t reduction;
    int32_t has_ignore_index;
    int64_t ignore_index;
    double label_smoothing;
    double z_loss;
    int32_t mean_by;
    int32_t flags;
} sce_options;

/* ---- Cross-entropy with integer labels ------------------------------- */

/**
 * sce_sparse_cross_entropy() - loss and/or gradient for integer labels.
 *
 * For each position i with label y (not ignored), with m the max over its
 * classes and s = sum_c exp(x_c - m), the loss is
 *     w[y] * ((m - x_y) + log(s))
 * (with label smoothing and z-loss terms when set). The gradient with respect
 * to the logits is w[y] * (softmax(x) - onehot(y)) times the upstream gradient
 * divided by the mean's denominator when reducing by mean. Ignored positions
 * give loss 0 and a zero gradient whatever their logits hold.
 *
 * A mean with a zero denominator (no positions, all ignored, zero total
 * weight) is NaN and its gradient is all zeros. A sum over nothing is 0.
 *
 * @dtype            SCE_FLOAT32 or SCE_FLOAT64: type of logits, weight,
 *                   grad_output, loss and grad.
 * @label_dtype      SCE_INT32 or SCE_INT64.
 * @outer, @classes, @inner  the shape; classes >= 1, outer and inner >= 0.
 * @logits           outer * classes * inner values; NULL only when empty.
 * @labels           outer * inner labels, each in [0, classes) or equal to
 *                   the ignore index.
 * @weight           classes finite weights >= 0, or NULL (all ones) with
 *                   weight_len 0.
 * @grad_output      upstream gradient: NULL (ones) with length 0, 1 value
 *                   for sum and mean, outer * inner values for none.
 * @options          must not be NULL.
 * @loss             output: 1 value for sum and mean, outer * inner values
 *                   for none; NULL with loss_len 0 to skip the loss.
 * @grad             output: outer * classes * inner values; NULL with
 *                   grad_len 0 to skip the gradient. May be logits itself.
 * @return SCE_OK or an error status; see sce_last_error().
 */
SCE_API int sce_sparse_cross_entropy(
    int dtype, int label_dtype, int64_t outer, int64_t classes, int64_t inner,
    const void *logits, int64_t logits_len, const void *labels, int64_t labels_len,
    const void *weight, int64_t weight_len, const void *grad_output,
    int64_t grad_output_len, const sce_options *options, void *loss, int64_t loss_len,
    void *grad, int64_t grad_len);

/* ---- Cross-entropy with dense labels --------------------------------- */

/**
 * sce_dense_cross_entropy() - loss and gradients for dense (soft) labels.
 *
 * labels has the shape of the logits. With smoothed targets
 * u_c = (1 - eps) * t_c + eps / classes, a_c = w[c] * u_c and A = sum_c a_c,
 * the loss of a position is sum_c a_c * ((m - x_c) + log(s)), where a class
 * with a_c = 0 adds nothing even when x_c is -inf (0 * log 0 = 0). The
 * gradient with respect to the logits is the exact softmax(x) * A - a, also
 * when label rows do not sum to 1; with respect to the labels it is
 * -(1 - eps) * w[c] * log_softmax(x)_c. Both are scaled like the sparse
 * gradient. SCE_FLAG_KL_DIVERGENCE adds sum_c a_c * log(u_c), which turns the
 * loss into the KL divergence (cross-entropy minus the target entropy).
 *
 * Arguments are those of sce_sparse_cross_entropy(), with these changes:
 * @labels       outer * classes * inner values of type dtype.
 * @options      has_ignore_index must be 0; mean_by must be
 *               SCE_MEAN_BY_POSITIONS or SCE_MEAN_BY_OUTER.
 * @grad_labels  output of the labels' length, or NULL with length 0 to skip
 *               it; must not overlap any other buffer.
 * @return SCE_OK or an error status; see sce_last_error().
 */
SCE_API int sce_dense_cross_entropy(
    int dtype, int64_t outer, int64_t classes, int64_t inner, const void *logits,
    int64_t logits_len, const void *labels, int64_t labels_len, const void *weight,
    int64_t weight_len, const void *grad_output, int64_t grad_output_len,
    const sce_options *options, void *loss, int64_t loss_len, void *grad, int64_t grad_len,
    void *grad_labels, int64_t grad_labels_len);

/* ---- Softmax and log-softmax ------------------------------------------- */

/**
 * sce_softmax() - y = exp(x - m) / sum_c exp(x_c - m) over the class axis.
 *
 * A slice of the class axis that is entirely -inf, or contains NaN or +inf,
 * gives NaN in that slice only.
 *
 * @dtype      SCE_FLOAT32 or SCE_FLOAT64.
 * @x, @x_len  outer * classes * inner values.
 * @y, @y_len  output of the same length; may be x itself.
 * @return SCE_OK or an error status.
 */
SCE_API int sce_softmax(int dtype, int64_t outer, int64_t classes, int64_t inner,
                        const void *x, int64_t x_len, void *y, int64_t y_len);

/**
 * sce_log_softmax() - y = (x - m) - log(sum_c exp(x_c - m)) over the class axis.
 *
 * Same arguments and special cases as sce_softmax(); -inf inputs give -inf.
 */
SCE_API int sce_log_softmax(int dtype, int64_t outer, int64_t classes, int64_t inner,
                            const void *x, int64_t x_len, void *y, int64_t y_len);

/**
 * sce_softmax_backward() - dx = y * (dy - sum_c dy_c * y_c), y = softmax(x).
 *
 * @y, @y_len    the softmax output.
 * @dy, @dy_len  upstream gradient, same length.
 * @dx, @dx_len  output, same length; may be y or dy itself.
 * @return SCE_OK or an error status.
 */
SCE_API int sce_softmax_backward(int dtype, int64_t outer, int64_t classes, int64_t inner,
                                 const void *y, int64_t y_len, const void *dy,
                                 int64_t dy_len, void *dx, int64_t dx_len);

/**
 * sce_log_softmax_backward() - dx = dy - exp(y) * sum_c dy_c, y = log_softmax(x).
 *
 * Same arguments and aliasing rules as sce_softmax_backward(), with y the
 * log-softmax output.
 */
SCE_API int sce_log_softmax_backward(int dtype, int64_t outer, int64_t classes,
                                     int64_t inner, const void *y, int64_t y_len,
                                     const void *dy, int64_t dy_len, void *dx,
                                     int64_t dx_len);

/* ---- Threads ----------------------------------------------------------- */

/**
 * sce_set_num_threads() - set how many threads each call may use.
 *
 * A call splits its positions into fixed blocks of about 65536 elements and
 * runs them on a pool of worker threads that lives as long as the process.
 * A call with a single block runs on the calling thread alone. Results are
 * bitwise identical for any thread count. The setting is process-wide and
 * applies to calls that start after it returns.
 *
 * The default is the environment variable SOFTMAXCE_NUM_THREADS, read once
 * when the library loads (an integer in [1, 1024]), or else the number of
 * CPUs the Go runtime uses (GOMAXPROCS, by default all CPUs of the process).
 *
 * @n  threads in [1, 1024], or 0 to restore the default.
 * @return SCE_OK, or SCE_ERROR_INVALID_ARGUMENT for n outside [0, 1024] and
 *         the setting is unchanged; see sce_last_error().
 */
SCE_API int sce_set_num_threads(int n);

/**
 * sce_get_num_threads() - number of threads each call may use.
 *
 * @return the count, in [1, 1024]; or -SCE_ERROR_FORKED in a child process
 *         forked after the library was loaded (see sce_last_error()).
 */
SCE_API int sce_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* SOFTMAXCE_H */
